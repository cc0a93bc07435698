"""``patron serve``: the REST API (and later the web console) over HTTP."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
import uvicorn

from patron.cli.options import DbOption
from patron.kit.db import database_url


def serve_database(url: str, host: str, port: int, workers: int) -> None:
    from patron.api.app import create_app
    from patron.api.deps import WRITE_GROUPS_ENV, write_group_limit
    from patron.cli.workers import WorkerStartError, reuse_port_available, run_workers
    from patron.migrations import upgrade_schema

    try:  # a bad setting stops here, before the database and the workers
        write_group_limit(os.environ.get(WRITE_GROUPS_ENV))
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error

    asyncio.run(upgrade_schema(url))
    if workers > 1 and reuse_port_available():
        try:
            run_workers(url, host, port, workers)
        except OSError as error:
            typer.echo(f"error: cannot listen on {host}:{port}: {error.strerror}", err=True)
            raise typer.Exit(1) from error
        except WorkerStartError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from error
    elif workers > 1:
        os.environ["PATRON_DATABASE_URL"] = url
        uvicorn.run(
            "patron.api.asgi:app",
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
    else:
        uvicorn.run(create_app(url), host=host, port=port, log_level="warning", access_log=False)


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the API on http://HOST:PORT (docs at /docs). Creates or upgrades the database."""
    url = database_url(db)
    typer.echo(f"Patron on http://{host}:{port}  (API /api/v1, docs /docs)", err=True)
    serve_database(url, host, port, workers)
