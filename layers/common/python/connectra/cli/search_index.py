"""`connectra reindex` and `connectra reconcile`: rebuild and check the OpenSearch indices."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import psycopg
import typer
from psycopg.rows import dict_row
from rich.console import Console

from connectra.db.pool import conninfo_from_settings
from connectra.models.fields import Entity
from connectra.search.indexing import (
    BulkIndexer,
    drain_outbox,
    indexer_from_settings,
    reconcile,
    reindex,
)
from connectra.settings import get_settings

console = Console()

EntityOption = Annotated[
    Entity, typer.Option("--entity", "-e", help="contacts or companies", case_sensitive=False)
]


def _indexer() -> BulkIndexer:
    indexer = indexer_from_settings(get_settings())
    if indexer is None:
        console.print("[red]error:[/red] SEARCH_BACKEND is not opensearch: there is no index")
        raise typer.Exit(code=2)
    return indexer


def _connect() -> psycopg.Connection[Any]:
    return psycopg.connect(conninfo_from_settings(get_settings()), row_factory=dict_row)


def _print(payload: dict[str, Any]) -> None:
    console.print_json(json.dumps(payload, default=str))


def reindex_command(entity: EntityOption) -> None:
    """Rebuild an entity's index from PostgreSQL (new index, alias swap), then drain."""
    indexer = _indexer()
    with _connect() as conn:
        result = reindex(conn, indexer, entity)
        drained = drain_outbox(conn, indexer)
    _print({"reindex": asdict(result), "drain": asdict(drained)})
    if result.failed:
        raise typer.Exit(code=1)


def reconcile_command(
    entity: EntityOption,
    repair: Annotated[
        bool, typer.Option("--repair", help="queue and index what is missing, stale or orphaned")
    ] = False,
) -> None:
    """Report ids missing, stale or orphaned in the index (exit 1 on drift without --repair)."""
    indexer = _indexer()
    with _connect() as conn:
        report = reconcile(conn, indexer, entity, repair=repair)
    _print({**asdict(report), "drift": report.drift})
    if report.drift and not repair:
        raise typer.Exit(code=1)
