"""``patron referrals``: the active program's referrals, the review of flagged ones, and the
funnel's KPIs (docs/campaigns.md, "Referrals")."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.cli.options import (
    ROW_ID_MAX,
    DbOption,
    JsonOption,
    audited,
    in_unit_of_work,
    print_json,
    run,
)
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.referrals import service as referral_service
from patron.referrals.models import ReferralStatus
from patron.referrals.schemas import Referral, ReferralKpis, ReferralPage

app = typer.Typer(help="Referrals: list, approve, reject, kpis.", no_args_is_help=True)

ProgramKey = Annotated[
    str, typer.Option("--program", help="Program key (one database may hold several).")
]
ReferralId = Annotated[int, typer.Argument(help="The referral's id.", min=1, max=ROW_ID_MAX)]


def _line(r: Referral) -> str:
    flags = f"  flags: {', '.join(r.flags)}" if r.flags else ""
    paid = (
        f"  paid {r.referrer_points} + {r.referee_points} points"
        if r.status is ReferralStatus.REWARDED
        else ""
    )
    return (
        f"{r.id}  {r.status.value}  referrer {r.referrer_id} -> member {r.referee_id}{paid}{flags}"
    )


@app.command("list")
def list_referrals(
    status: Annotated[
        ReferralStatus | None, typer.Option("--status", help="Only referrals in this status.")
    ] = None,
    member: Annotated[
        int | None,
        typer.Option("--member", help="Only the member's (as either side).", min=1, max=ROW_ID_MAX),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 100,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """Referrals in id order (``--status flagged``: those held for review)."""

    async def work(session: AsyncSession) -> ReferralPage:
        active = await program_service.get_active_program(session, key=program)
        return await referral_service.list_referrals(
            session, program_id=active.program_id, status=status, member_id=member, limit=limit
        )

    page = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(page.model_dump(mode="json"))
        return
    if not page.items:
        typer.echo("no referrals")
    for referral in page.items:
        typer.echo(_line(referral))


def _review(
    db: str | None, program: str, referral_id: int, approve: bool, json_output: bool
) -> None:
    async def work(session: AsyncSession) -> Referral:
        active = await program_service.get_active_program(session, key=program)
        reviewed = await referral_service.review(
            session,
            active=active,
            referral_id=referral_id,
            approve=approve,
            now=utcnow(),
        )
        action = "referrals.approve" if approve else "referrals.reject"
        await audited(session, action=action, target=f"referral:{referral_id}")
        return reviewed

    referral = run(in_unit_of_work(db, work))
    if json_output:
        print_json(referral.model_dump(mode="json"))
        return
    typer.echo(_line(referral))


@app.command("approve")
def approve(
    referral_id: ReferralId,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """Approve a flagged referral: it is paid like any other once it qualifies."""
    _review(db, program, referral_id, True, json_output)


@app.command("reject")
def reject(
    referral_id: ReferralId,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """Reject a flagged referral: it is never paid (one flagged after it was paid is clawed
    back: its points and unused coupons are taken back)."""
    _review(db, program, referral_id, False, json_output)


@app.command("kpis")
def kpis(
    db: DbOption = None, json_output: JsonOption = False, program: ProgramKey = "default"
) -> None:
    """The funnel (enrolled, qualified, rewarded, flagged, rejected) and the cost per
    acquired member in points."""

    async def work(session: AsyncSession) -> ReferralKpis:
        active = await program_service.get_active_program(session, key=program)
        return await referral_service.kpis(session, program_id=active.program_id)

    k = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(k.model_dump(mode="json"))
        return
    per_member = "-" if k.cost_per_acquired_member is None else str(k.cost_per_acquired_member)
    typer.echo(
        f"invited    {k.invited}\n"
        f"enrolled   {k.enrolled}\n"
        f"pending    {k.pending}\n"
        f"qualified  {k.qualified}\n"
        f"rewarded   {k.rewarded}\n"
        f"flagged    {k.flagged}\n"
        f"rejected   {k.rejected}\n"
        f"cost       {k.cost_points} points, {per_member} per acquired member\n"
        f"taken back {k.clawed_back_points} points"
    )
