"""The tiers' handlers: a tier upgrade after any credit (``ledger.credited``).

Purchases and awards already upgrade in their own unit of work; this handler catches every
other credit (goodwill, adjustments, imports) and is a no-op when the member is already
where the metric puts them. It judges the metric as of the event's time.

A purchase's credit (source ``purchase``: the purchase paths and the bulk import, which
judge the tier themselves with the purchase) is skipped outright: judging it again later
could only repeat the purchase's own decision, or undo a move made since (a member the daily
review moved down after the purchase would be moved up again on the old credit), and costs
the dispatcher a metric query per purchase. So is an opening balance and its corrections
(source ``opening``): the members import carries the tier over itself, and whether opening
points qualify is the daily review's to judge.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import EventEnvelope, Handler
from patron.ledger.sources import LedgerSource
from patron.members.models import Member
from patron.programs import service as program_service
from patron.programs.models import ProgramRecord
from patron.tiers import service as tier_service

SELF_CHECKED = frozenset({LedgerSource.PURCHASE.value, LedgerSource.OPENING.value})
"""Sources of credits whose writer judged the tier in the credit's own unit of work: a
purchase, and an opening balance or its correction (the members import carries the tier over
itself; whether opening points qualify is the daily review's to judge, as before the import
announced them)."""


def judged_elsewhere(event: EventEnvelope) -> bool:
    """False for a credit whose writer judged the tier already (or without a member)."""
    member_id = event.data.get("member_id")
    return isinstance(member_id, int) and event.data.get("source") not in SELF_CHECKED


async def upgrade_after_credit(session: AsyncSession, event: EventEnvelope) -> None:
    member_id = event.data.get("member_id")
    if not isinstance(member_id, int) or not judged_elsewhere(event):
        return
    row = (
        await session.execute(
            select(Member.program_id, Member.tier_id).where(Member.id == member_id)
        )
    ).first()
    if row is None:
        return
    key = await session.scalar(select(ProgramRecord.key).where(ProgramRecord.id == row[0]))
    if key is None:
        return
    active = await program_service.get_active_program(session, key=key)
    await tier_service.upgrade_if_qualified(
        session,
        program=active.program,
        member_id=member_id,
        current_tier=row[1],
        now=event.occurred_at,
    )


HANDLERS = [
    Handler(
        name="tiers.upgrade_after_credit",
        events=frozenset({"ledger.credited"}),
        handle=upgrade_after_credit,
        applies=judged_elsewhere,
    )
]
