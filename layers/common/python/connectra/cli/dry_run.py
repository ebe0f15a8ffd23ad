"""`connectra import FILE --dry-run`: the local file parsed as its import would be, nothing
written (no upload, no job): the mapping used, sample rows, row errors, counts.

When a database is reachable (DATABASE_URL, else the local cluster `make run` starts,
never started by this) the counts are split into the records an import would insert and
update (a READ ONLY lookup, ingest/existing.py); otherwise the report says it could not
tell.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from connectra.errors import ValidationFailed
from connectra.ingest.dry_run import DryRunRefused, DryRunReport, count_existing, dry_run
from connectra.ingest.mapping import check_mapping
from connectra.ingest.parse import detect_format
from connectra.local.postgres import default_cluster
from connectra.models.fields import Entity

console = Console()
PIECE = 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 3


def _pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while piece := handle.read(PIECE):
            yield piece


def dry_run_file(
    path: Path,
    entity: Entity,
    mapping: dict[str, str | None] | None,
    preset: str | None,
    rows: int | None,
) -> DryRunReport:
    try:
        data = check_mapping(entity, mapping, preset)
        with path.open("rb") as handle:
            sniff = handle.read(64 * 1024)
        return dry_run(
            entity, _pieces(path), path.stat().st_size, detect_format(path.name, sniff), data, rows
        )
    except (ValidationFailed, DryRunRefused) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None


def database_url() -> str:
    """DATABASE_URL, else the local cluster's address (whether it runs or not)."""
    return os.environ.get("DATABASE_URL") or default_cluster().url()


def split_by_database(report: DryRunReport) -> str | None:
    """Look the report's records up in the database; why it could not, or None."""
    try:
        with psycopg.connect(database_url(), connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            count_existing(conn, report)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no database to compare with ({reason})"
    return None


def _mapping_table(mapping: dict[str, str | None]) -> Table:
    table = Table(title="mapping used")
    table.add_column("column")
    table.add_column("field")
    for column, target in mapping.items():
        table.add_row(column, target or "[dim](ignored)[/dim]")
    return table


def print_dry_run(report: DryRunReport, unchecked_reason: str | None = None) -> None:
    result: dict[str, Any] = report.as_dict()
    if report.mapping:
        console.print(_mapping_table(report.mapping))
    for column, message in report.notices.items():
        console.print(f"[yellow]note:[/yellow] column {column!r}: {message}")
    console.print("sample rows:")
    for sample in report.samples:
        console.print_json(json.dumps(sample, default=str))
    for error in report.errors:
        console.print(
            f"[red]line {error['line']}[/red] {error['column'] or '(row)'}: {error['message']}"
        )
    counts = Table(title="an import would read (dry run: nothing written)")
    counts.add_column("count")
    counts.add_column("value", justify="right")
    for name, value in result["counts"].items():
        counts.add_row(name, "?" if value is None else f"{value:,}")
    console.print(counts)
    if not report.existing_checked:
        console.print(
            "[yellow]could not tell how many records would be inserted or updated:[/yellow] "
            f"{unchecked_reason or 'not looked up'}"
        )
    if report.truncated:
        console.print("[yellow]stopped after the requested rows: the rest was not read[/yellow]")
