"""Manual point adjustments: a staff member adds or takes points with a reason (the
console's "adjust points" on a member's page).

A positive adjustment is an award (:func:`patron.awards.service.award`: a new lot expiring by
the program's policy, ``ledger.credited``, the tier check); a negative one is a debit in burn
order that is refused whole when the member has fewer points available
(:class:`~patron.ledger.errors.InsufficientPointsError`) and emits ``ledger.debited``. Both
are entries of kind ``adjust`` and source ``adjustment``, whose ``source_id`` names who
adjusted and whose ``description`` and ``meta.reason`` keep the reason. ``key`` (the form's
one-time key) makes a repeated submission answer the entry written the first time. The
member must exist and be active. The balance before and after is noted for the audit log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.awards.service import award
from patron.kit.errors import InvalidInputError
from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.ledger.events import LedgerDebited
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.schemas import Entry
from patron.ledger.sources import LedgerSource
from patron.members import service as member_service
from patron.programs.schemas import ActiveProgram

MOST_POINTS = 1_000_000
MOST_REASON = 255
MOST_KEY = 64


def _check(points: int, reason: str, key: str) -> str:
    if points == 0 or abs(points) > MOST_POINTS:
        raise InvalidInputError(
            f"points must be a whole number from -{MOST_POINTS} to {MOST_POINTS}, not 0",
            field="points",
            params={"most": MOST_POINTS},
        )
    cleaned = reason.strip()
    if not 1 <= len(cleaned) <= MOST_REASON:
        raise InvalidInputError(
            f"reason must be 1 to {MOST_REASON} characters",
            field="reason",
            params={"min_length": 1, "max_length": MOST_REASON},
        )
    if not 1 <= len(key) <= MOST_KEY:
        raise InvalidInputError(
            f"key must be 1 to {MOST_KEY} characters",
            field="key",
            params={"min_length": 1, "max_length": MOST_KEY},
        )
    return cleaned


async def adjust_points(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    points: int,
    reason: str,
    key: str,
    actor: str,
    now: datetime,
) -> Entry:
    """Add (``points`` > 0) or take (< 0) points with ``reason``; the entry."""
    cleaned = _check(points, reason, key)
    member = await member_service.get_member_state(
        session, program_id=active.program_id, member_id=member_id
    )
    member_service.ensure_active(member)
    await ledger_service.lock_account_for_update(session, member_id)
    before = await ledger_service.balance(session, member_id=member_id, now=now)
    meta = {"reason": cleaned, "by": actor}
    source = LedgerSource.ADJUSTMENT
    if points > 0:
        awarded = await award(
            session,
            active=active,
            member_id=member_id,
            points=points,
            source=source,
            source_id=actor,
            key=(key,),
            now=now,
            kind=EntryKind.ADJUST,
            description=cleaned,
            meta=meta,
        )
        assert awarded.entry is not None  # no cap
        entry = awarded.entry
    else:
        entry = await ledger_service.debit(
            session,
            member_id=member_id,
            amount=-points,
            kind=EntryKind.ADJUST,
            idempotency_key=source.key(key),
            source_type=source.value,
            source_id=actor,
            now=now,
            on_shortfall=ShortfallPolicy.REFUSE,
            description=cleaned,
            meta=meta,
        )
    after = await ledger_service.balance(session, member_id=member_id, now=now)
    if points < 0 and after.available != before.available:  # not a key sent again
        debited = LedgerDebited(
            member_id=member_id,
            entry_id=entry.id,
            kind=EntryKind.ADJUST.value,
            points=-points,
            source=source.value,
        )
        await emit(session, debited, program_id=active.program_id, occurred_at=now)
    audit_service.note(
        session,
        target=f"member:{member_id}",
        before={"available": before.available},
        after={"available": after.available, "points": points, "reason": cleaned},
        changed=after.available != before.available,  # False: the same key sent again
    )
    return entry
