"""``patron serve``: the REST API (and later the web console) over HTTP."""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import Annotated

import typer
import uvicorn

from patron.cli.options import DbOption
from patron.kit.db import database_url
from patron.kit.metrics import MULTIPROCESS_ENV


def serve_database(url: str, host: str, port: int, workers: int, *, dispatch: bool = True) -> None:
    from patron.api.app import create_app
    from patron.api.deps import WRITE_GROUPS_ENV, write_group_limit
    from patron.cli.workers import WorkerStartError, reuse_port_available, run_workers
    from patron.kit.logs import configure_logging
    from patron.migrations import upgrade_schema

    try:  # a bad setting stops here, before the database and the workers
        write_group_limit(os.environ.get(WRITE_GROUPS_ENV))
        configure_logging(os.environ)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error

    asyncio.run(upgrade_schema(url))
    if workers > 1 and reuse_port_available():
        try:
            run_workers(url, host, port, workers, dispatch=dispatch)
        except OSError as error:
            typer.echo(f"error: cannot listen on {host}:{port}: {error.strerror}", err=True)
            raise typer.Exit(1) from error
        except WorkerStartError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from error
    elif workers > 1:
        os.environ["PATRON_DATABASE_URL"] = url
        os.environ.setdefault(MULTIPROCESS_ENV, metrics_directory())
        # every process would dispatch: fine on PostgreSQL, only contention on SQLite
        os.environ["PATRON_IN_PROCESS_WORKER"] = "1" if dispatch and "sqlite" not in url else "0"
        uvicorn.run(
            "patron.api.asgi:app",
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            log_config=None,  # the logging of configure_logging (patron.api.asgi does it too)
            access_log=False,
        )
    else:
        uvicorn.run(
            create_app(url, dispatch=dispatch),
            host=host,
            port=port,
            log_level="warning",
            log_config=None,
            access_log=False,
        )


def metrics_directory() -> str:
    """A new private directory for the metrics of a server's worker processes
    (:mod:`patron.kit.metrics`); it is left in the system's temporary directory."""
    return tempfile.mkdtemp(prefix="patron-metrics-")


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Do not dispatch events in the server (run `patron worker` instead).",
        ),
    ] = False,
) -> None:
    """Serve the API on http://HOST:PORT (docs at /docs). Creates or upgrades the database.
    Dispatches domain events in-process (on SQLite in one worker process only) unless
    --no-worker."""
    url = database_url(db)
    typer.echo(
        f"Patron on http://{host}:{port}  (console /admin, API /api/v1, docs /docs)", err=True
    )
    serve_database(url, host, port, workers, dispatch=not no_worker)
