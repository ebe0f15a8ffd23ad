"""`connectra import FILE --dry-run`: the local file parsed as its import would be, nothing
written (no upload, no job): the mapping used, sample rows, row errors, counts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from connectra.errors import ValidationFailed
from connectra.ingest.dry_run import DryRunRefused, DryRunReport, dry_run
from connectra.ingest.mapping import check_mapping
from connectra.ingest.parse import detect_format
from connectra.models.fields import Entity

console = Console()
PIECE = 1024 * 1024


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


def _mapping_table(mapping: dict[str, str | None]) -> Table:
    table = Table(title="mapping used")
    table.add_column("column")
    table.add_column("field")
    for column, target in mapping.items():
        table.add_row(column, target or "[dim](ignored)[/dim]")
    return table


def print_dry_run(report: DryRunReport) -> None:
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
    for name in result["counts"]:
        counts.add_column(name, justify="right")
    counts.add_row(*(f"{value:,}" for value in result["counts"].values()))
    console.print(counts)
    if report.truncated:
        console.print("[yellow]stopped after the requested rows: the rest was not read[/yellow]")
