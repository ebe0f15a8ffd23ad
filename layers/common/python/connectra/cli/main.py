"""The `connectra` command (pyproject: `connectra = "connectra.cli.main:run"`)."""

from __future__ import annotations

import sys

import psycopg
import typer
from rich.console import Console

from connectra.cli import keys
from connectra.cli.exporter import export_command
from connectra.cli.importer import import_file
from connectra.cli.search_index import reconcile_command, reindex_command
from connectra.cli.search_structures import search_structures_command
from connectra.db.pool import DatabaseNotConfigured

app = typer.Typer(help="Connectra: import, export and manage API keys.", no_args_is_help=True)
app.command("import")(import_file)
app.command("export")(export_command)
app.command("reindex")(reindex_command)
app.command("reconcile")(reconcile_command)
app.command("search-structures")(search_structures_command)
app.add_typer(keys.app, name="keys")

# Exit codes of a command that could not reach its database (typer's own usage errors
# exit 2 as well: a missing setting is a usage error).
NOT_CONFIGURED, UNREACHABLE = 2, 1


@app.callback()
def main() -> None:
    """Connectra from the command line (`connectra COMMAND --help`)."""


def run() -> None:
    """The command: `app`, with the database's absence said in one line, not a traceback."""
    errors = Console(stderr=True)
    try:
        app()
    except DatabaseNotConfigured as error:
        errors.print(f"[red]error:[/red] no database: {error}")
        sys.exit(NOT_CONFIGURED)
    except psycopg.OperationalError as error:
        said = str(error).strip()
        first_line = said.splitlines()[0] if said else type(error).__name__
        errors.print(f"[red]error:[/red] cannot reach the database: {first_line}")
        sys.exit(UNREACHABLE)


if __name__ == "__main__":
    run()
