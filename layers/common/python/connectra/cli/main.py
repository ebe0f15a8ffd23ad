"""The `connectra` command (pyproject: `connectra = "connectra.cli.main:app"`)."""

from __future__ import annotations

import typer

from connectra.cli import keys
from connectra.cli.exporter import export_command
from connectra.cli.importer import import_file
from connectra.cli.search_index import reconcile_command, reindex_command
from connectra.cli.search_structures import search_structures_command

app = typer.Typer(help="Connectra: import, export and manage API keys.", no_args_is_help=True)
app.command("import")(import_file)
app.command("export")(export_command)
app.command("reindex")(reindex_command)
app.command("reconcile")(reconcile_command)
app.command("search-structures")(search_structures_command)
app.add_typer(keys.app, name="keys")


@app.callback()
def main() -> None:
    """Connectra from the command line (`connectra COMMAND --help`)."""


if __name__ == "__main__":
    app()
