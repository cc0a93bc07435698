"""``patron events``: the outbox's dead letters and the dispatcher's lag and failures."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.cli.options import ROW_ID_MAX, DbOption, JsonOption, in_unit_of_work, print_json, run
from patron.kit.outbox_ops import DeadRun, OutboxStats, list_dead, outbox_stats, retry_dead
from patron.kit.time import utcnow

app = typer.Typer(help="Domain events: dead letters, retries, lag.", no_args_is_help=True)


@app.command("dead")
def dead(
    db: DbOption = None,
    json_output: JsonOption = False,
    event: Annotated[
        int | None, typer.Option("--event", min=1, max=ROW_ID_MAX, help="Only this event id.")
    ] = None,
    handler: Annotated[str | None, typer.Option(help="Only this handler.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
) -> None:
    """Handler runs that gave up after every attempt (dead letters), newest first."""

    async def work(session: AsyncSession) -> list[DeadRun]:
        return await list_dead(session, event_id=event, handler=handler, limit=limit)

    rows = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(
            [
                {
                    "run_id": r.run_id,
                    "event_id": r.event_id,
                    "event": r.public_id,
                    "type": r.event_type,
                    "member_id": r.member_id,
                    "handler": r.handler,
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "failed_at": r.failed_at.isoformat(),
                }
                for r in rows
            ]
        )
        return
    if not rows:
        typer.echo("no dead letters")
    for r in rows:
        typer.echo(
            f"run {r.run_id}  {r.public_id}  {r.event_type}  {r.handler}  "
            f"{r.attempts} attempts  {r.failed_at:%Y-%m-%d %H:%M}  {r.last_error or ''}"
        )


@app.command("retry")
def retry(
    db: DbOption = None,
    event: Annotated[
        int | None, typer.Option("--event", min=1, max=ROW_ID_MAX, help="Only this event id.")
    ] = None,
    handler: Annotated[str | None, typer.Option(help="Only this handler.")] = None,
    run_id: Annotated[
        int | None, typer.Option("--run", min=1, max=ROW_ID_MAX, help="Only this run id.")
    ] = None,
) -> None:
    """Give dead handler runs a fresh set of attempts (all of them without a filter); the
    next worker round runs them."""

    async def work(session: AsyncSession) -> int:
        return await retry_dead(session, utcnow(), run_id=run_id, event_id=event, handler=handler)

    count = run(in_unit_of_work(db, work, write=True))
    if count == 0:
        typer.echo("error: no dead letters match", err=True)
        raise typer.Exit(1)
    typer.echo(f"{count} handler run(s) queued again")


@app.command("stats")
def stats(db: DbOption = None, json_output: JsonOption = False) -> None:
    """The dispatcher's backlog, lag (p50/p99 over the last hour) and failures."""

    async def work(session: AsyncSession) -> OutboxStats:
        return await outbox_stats(session, utcnow())

    s = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(
            {
                "pending": s.pending,
                "oldest_pending_seconds": s.oldest_pending_seconds,
                "retrying": s.retrying,
                "dead": s.dead,
                "dispatched_last_hour": s.dispatched_last_hour,
                "lag_p50_ms": s.lag_p50_ms,
                "lag_p99_ms": s.lag_p99_ms,
                "failures_by_handler": s.failures_by_handler,
            }
        )
        return

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    oldest = "-" if s.oldest_pending_seconds is None else f"{s.oldest_pending_seconds:.0f} s"
    typer.echo(f"pending {s.pending} (oldest {oldest})  retrying {s.retrying}  dead {s.dead}")
    typer.echo(
        f"dispatched last hour {s.dispatched_last_hour}  lag p50 {ms(s.lag_p50_ms)}"
        f"  p99 {ms(s.lag_p99_ms)}"
    )
    for name, count in s.failures_by_handler.items():
        typer.echo(f"  {name}: {count} failing")
