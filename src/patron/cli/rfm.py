"""``patron analytics rfm``: the RFM grid and the segment sizes of a program."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.options import DbOption, JsonOption, instant, print_json, run
from patron.kit.db import Database
from patron.programs import service as program_service

if TYPE_CHECKING:
    from patron.segments.schemas import RfmOverview

ProgramOption = Annotated[str, typer.Option("--program", help="The program's key.")]


async def _overview(url: str | None, key: str, refresh: bool, now: datetime) -> RfmOverview:
    # Imported here: ``rfm`` is registered under ``patron analytics``, whose other commands
    # (``kpis`` above all) should not pay for the segment service.
    from patron.migrations import upgrade_schema
    from patron.segments import service as segment_service
    from patron.worker.segments import refresh_segments  # the CLV models: SciPy

    database = Database(url)
    try:
        await upgrade_schema(database.url)
        async with database.read() as session:
            active = await program_service.get_active_program(session, key=key)
            stored = await segment_service.has_scores(session, program_id=active.program_id)
        if refresh or not stored:
            await refresh_segments(database, now=now)
        async with database.read() as session:
            return await segment_service.rfm_overview(
                session, program_key=key, program_id=active.program_id, program=active.program
            )
    finally:
        await database.dispose()


def _print(overview: RfmOverview) -> None:
    computed = overview.computed_at.isoformat() if overview.computed_at else "never"
    typer.echo(
        f"RFM of program '{overview.program}': {overview.members} members, computed {computed}"
    )
    typer.echo("      " + "".join(f"{f'F{f}':>6}" for f in range(1, 6)))
    for r in range(5, 0, -1):
        cells = [cell for cell in overview.grid if cell.recency_score == r]
        typer.echo(f"R{r}    " + "".join(f"{cell.members:>6}" for cell in cells))
    typer.echo("")
    width = max(len(size.segment) for size in overview.segments)
    for size in overview.segments:
        typer.echo(f"{size.segment:<{width}}  {size.members:>6}")
    typer.echo("")
    typer.echo(", ".join(f"{size.group.value} {size.members}" for size in overview.groups))


def rfm(
    db: DbOption = None,
    program: ProgramOption = program_service.DEFAULT_KEY,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Recompute the segments first (as jobs run does).")
    ] = False,
    now: Annotated[
        str | None, typer.Option(help="Compute as of this ISO time (default: now).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Print the RFM grid (members per recency and frequency score), the size of every
    segment and group. Computes the segments first when none are stored, or with --refresh
    (the refresh of `patron jobs run`, as of --now)."""
    overview = run(_overview(db, program, refresh, instant(now)))
    if json_output:
        print_json(overview.model_dump(mode="json", exclude={"page"}))
        return
    _print(overview)
