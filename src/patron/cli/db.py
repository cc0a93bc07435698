"""``patron db``: schema management."""

from __future__ import annotations

import typer

from patron.cli.options import DbOption, run
from patron.kit.db import database_url

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(db: DbOption = None) -> None:
    """Create the database schema or upgrade it to the newest migration."""
    from patron.migrations import upgrade_schema

    url = database_url(db)
    run(upgrade_schema(url))
    typer.echo("database is at the newest schema")
