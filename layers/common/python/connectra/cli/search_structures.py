"""`connectra search-structures`: show or switch the PostgreSQL search structures.

    connectra search-structures              # which set the tables carry
    connectra search-structures --apply      # switch to SEARCH_BACKEND's set
    connectra search-structures --apply --backend postgres

Online and idempotent (see `connectra.db.search_structures`): run it again after an
interruption and it finishes the switch.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, cast

import psycopg
import typer
from psycopg.rows import dict_row
from rich.console import Console

from connectra.db import search_structures
from connectra.db.pool import conninfo_from_settings
from connectra.settings import get_settings

console = Console()


def search_structures_command(
    apply: Annotated[
        bool, typer.Option("--apply", help="switch the tables to the backend's set")
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend", help="postgres or opensearch (default: SEARCH_BACKEND)", show_default=False
        ),
    ] = None,
) -> None:
    """Show which search structure set the tables carry, or switch it (online)."""
    chosen = backend or get_settings().search_backend
    if chosen not in ("postgres", "opensearch"):
        console.print(f"[red]error:[/red] --backend must be postgres or opensearch, not {chosen}")
        raise typer.Exit(code=2)
    target = cast(Literal["postgres", "opensearch"], chosen)
    url = conninfo_from_settings(get_settings())
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        if apply:
            result: dict[str, Any] = search_structures.apply(conn, target, log=console.print)
        else:
            result = search_structures.status(conn, definitions=True)
    expected = search_structures.expected_set(target)
    result = {**result, "backend": target, "expected": expected}
    console.print_json(json.dumps(result))
    if result["set"] != expected:
        raise typer.Exit(code=1)
