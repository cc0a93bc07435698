"""``patron demo``: a realistic synthetic store, replayed through Patron's services, then served."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.engine import make_url

from patron.cli.options import run
from patron.demo.generator import DemoSettings, DemoStore, generate_store
from patron.demo.replay import ReplaySummary, replay_store
from patron.kit.db import Database, database_url
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.errors import ProgramNotFoundError

DEFAULT_DEMO_DATABASE = "patron-demo.db"
DEMO_CONSOLE_EMAIL = "demo@example.com"


def demo(
    db: Annotated[
        str, typer.Option("--db", help="SQLAlchemy URL or SQLite file path for the demo store.")
    ] = DEFAULT_DEMO_DATABASE,
    members: Annotated[int, typer.Option(min=1, help="Members to enrol.")] = 5000,
    years: Annotated[int, typer.Option(min=1, max=10, help="Years of history up to now.")] = 2,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same store.")
    ] = 42,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the SQLite file first if it holds data.")
    ] = False,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the store and exit.")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Build a demo store (members, two years of purchases, returns, rewards) by replaying
    synthetic but realistic history through Patron's own services, print an admin API key, and
    serve it. Refuses a database that already holds data unless --reset."""
    started = time.perf_counter()
    url = database_url(db)
    console = Console(stderr=True)
    if reset:
        _delete_sqlite_file(url)
    if run(_holds_data(url)):
        typer.echo(
            f"error: {db} already holds data; pass --reset to delete it and build a new demo "
            "store, or choose another file with --db",
            err=True,
        )
        raise typer.Exit(2)
    now = utcnow()
    settings = DemoSettings(now=now, members=members, days=round(365.25 * years), seed=seed)
    with console.status(f"generating {members} members and {years} years of history"):
        store = generate_store(settings)
    summary = run(_replay(url, store, console))
    _print_summary(summary, time.perf_counter() - started, url)
    with console.status("dispatching the store's domain events"):
        dispatched = run(_dispatch_events(url))
    typer.echo(
        "events dispatched: "
        + (", ".join(f"{kind} {count}" for kind, count in dispatched.items()) or "none"),
        err=True,
    )
    password = run(_console_user(url))
    typer.echo(
        f"console login (shown only now): {DEMO_CONSOLE_EMAIL} / {password}\n"
        f"  (your own: patron users create --email you@example.com --role admin --db {db})",
        err=True,
    )
    typer.echo("admin API key (shown only now):", err=True)
    typer.echo(summary.admin_key)
    if not no_serve:
        from patron.cli.serve import serve_database

        typer.echo(
            f"Patron on http://{host}:{port}  (console http://{host}:{port}/admin, "
            "API /api/v1, docs /docs)",
            err=True,
        )
        serve_database(url, host, port, 1)


async def _console_user(url: str) -> str:
    """Create the demo's console admin with a random password; the password."""
    from patron.access import users as user_service
    from patron.access.models import Role
    from patron.kit.ids import random_token

    password = random_token(12)
    database = Database(url)
    try:
        async with database.write() as session:
            await user_service.create_user(
                session, email=DEMO_CONSOLE_EMAIL, role=Role.ADMIN, password=password, now=utcnow()
            )
    finally:
        await database.dispose()
    return password


async def _dispatch_events(url: str) -> dict[str, int]:
    """Drain the outbox once (what ``patron worker --once`` does); the events by type."""
    from sqlalchemy import func, select

    from patron.kit.db import Database
    from patron.kit.outbox import OutboxEvent
    from patron.worker.loop import run_worker

    database = Database(url)
    try:
        await run_worker(database, once=True)
        async with database.read() as session:
            rows = await session.execute(
                select(OutboxEvent.type, func.count())
                .where(OutboxEvent.dispatched_at.is_not(None))
                .group_by(OutboxEvent.type)
                .order_by(OutboxEvent.type)
            )
            return {kind: count for kind, count in rows}
    finally:
        await database.dispose()


def _delete_sqlite_file(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        typer.echo(
            "error: --reset deletes only SQLite files; empty that database yourself", err=True
        )
        raise typer.Exit(2)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(parsed.database + suffix).unlink(missing_ok=True)


async def _holds_data(url: str) -> bool:
    """True once a program has been applied (creates the schema first if there is none)."""
    from patron.migrations import upgrade_schema

    await upgrade_schema(url)
    database = Database(url)
    try:
        async with database.read() as session:
            try:
                await program_service.get_active_program(session)
            except ProgramNotFoundError:
                return False
            return True
    finally:
        await database.dispose()


async def _replay(url: str, store: DemoStore, console: Console) -> ReplaySummary:
    database = Database(url)
    columns = (
        TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TextColumn("events"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("replay", total=len(store.events))

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await replay_store(database, store, clock=utcnow, progress=advance)
    finally:
        await database.dispose()


def _print_summary(summary: ReplaySummary, elapsed: float, url: str) -> None:
    tiers = ", ".join(f"{tier} {count}" for tier, count in summary.members_per_tier.items())
    guests = summary.purchases - summary.member_purchases
    lines = [
        f"database:        {make_url(url).render_as_string(hide_password=True)}",
        f"members:         {summary.members}",
        f"purchases:       {summary.purchases} ({summary.member_purchases} by members, "
        f"{guests} without a card)",
        f"returns:         {summary.returns}",
        f"points issued:   {summary.points_earned} (reversed by returns {summary.points_reversed})",
        f"points redeemed: {summary.points_redeemed} in {summary.redemptions} coupons "
        f"({summary.coupons_used} used)",
        f"members per tier: {tiers}",
        f"ready in {elapsed:.1f} s",
    ]
    for line in lines:
        typer.echo(line)
