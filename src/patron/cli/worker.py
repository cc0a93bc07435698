"""``patron worker``: the outbox dispatcher and the delivery pollers, in a loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Annotated

import typer

from patron.cli.options import DbOption
from patron.kit.db import Database, database_url


def worker(
    db: DbOption = None,
    once: Annotated[bool, typer.Option("--once", help="Drain what is due now, then exit.")] = False,
    idle: Annotated[
        float, typer.Option(min=0.05, help="Seconds to sleep when nothing is due.")
    ] = 0.5,
) -> None:
    """Dispatch domain events to their handlers and run the delivery pollers (webhooks,
    email) until SIGTERM or SIGINT. Several workers may run on PostgreSQL. Creates or
    upgrades the database."""
    from patron.kit.logs import configure_logging
    from patron.migrations import upgrade_schema
    from patron.worker.loop import RoundReport, run_worker

    url = database_url(db)
    try:
        configure_logging(os.environ)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error

    def show(report: RoundReport) -> None:
        typer.echo(
            f"events {report.events}  handled {report.handled}  failed {report.failed}"
            f"  polled {report.polled}",
            err=True,
        )

    async def main() -> RoundReport:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for name in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(RuntimeError, ValueError):  # not the main thread
                loop.add_signal_handler(name, stop.set)
        await upgrade_schema(url)
        database = Database(url)
        typer.echo("worker running (SIGTERM or Ctrl-C stops it)", err=True)
        try:
            return await run_worker(
                database, once=once, stop=stop, idle_seconds=idle, on_round=show
            )
        finally:
            await database.dispose()

    total = asyncio.run(main())
    typer.echo(
        f"worker stopped: {total.events} events, {total.handled} handled, "
        f"{total.failed} failed, {total.polled} polled"
    )
