"""The one way bonus points are awarded (survey answers, reviews, goodwill from a ticket).

:func:`award` does what the three copies used to do each in its own way, and what none of them
did (the tier check):

- locks the member's account, so concurrent awards of one member see each other;
- builds the idempotency key from :class:`~patron.ledger.sources.LedgerSource` and the parts
  that make the award unique; a key used before answers the entry written then (``created``
  false) and credits nothing;
- credits nothing to a blocked or erased member (``refused``): blocked members earn nothing,
  whichever path awards them;
- applies the cap, counted over the member's ledger entries of the same source (optionally
  of one ``source_id`` and since a time): a count of entries or a sum of points; an award
  the cap refuses writes nothing and answers ``capped``;
- credits the points (a new lot, expiring by the program's policy), emits
  ``ledger.credited`` in the same unit of work, and moves the member up a tier at once when
  the credit reaches a threshold (``tiers.changed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.ledger.events import LedgerCredited
from patron.ledger.kinds import EntryKind
from patron.ledger.models import entries
from patron.ledger.schemas import Entry
from patron.ledger.sources import LedgerSource
from patron.members.models import Member, MemberStatus
from patron.programs.expiry import expiry_for
from patron.programs.schemas import ActiveProgram
from patron.tiers import service as tier_service


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``count`` entries or ``points`` points of the award's source for the member
    (of ``source_id`` only when given, since ``since`` when given)."""

    count: int | None = None
    points: int | None = None
    source_id: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Awarded:
    entry: Entry | None  # None: the cap refused it
    created: bool
    capped: bool = False
    used: int = 0  # what the cap had counted before this award
    refused: bool = False  # the member is blocked (or erased): nothing was credited


async def award(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    points: int,
    source: LedgerSource,
    source_id: str,
    key: tuple[object, ...],
    now: datetime,
    kind: EntryKind = EntryKind.BONUS,
    cap: Cap | None = None,
    description: str = "",
    meta: dict[str, Any] | None = None,
) -> Awarded:
    """Award ``points`` (> 0) to the member (see the module docstring)."""
    await ledger_service.lock_account_for_update(session, member_id)
    idempotency_key = source.key(*key)
    found = await _find(session, idempotency_key)
    if found is not None:
        return Awarded(entry=found, created=False)
    member = (
        await session.execute(select(Member.status, Member.erased_at).where(Member.id == member_id))
    ).first()
    if member is None or member.status is not MemberStatus.ACTIVE or member.erased_at is not None:
        return Awarded(entry=None, created=False, refused=True)
    used = 0
    if cap is not None:
        used = await _used(session, member_id, source, cap)
        limit = cap.count if cap.count is not None else cap.points
        added = 1 if cap.count is not None else points
        if limit is not None and used + added > limit:
            return Awarded(entry=None, created=False, capped=True, used=used)
    entry = await ledger_service.credit(
        session,
        member_id=member_id,
        amount=points,
        kind=kind,
        idempotency_key=idempotency_key,
        source_type=source.value,
        source_id=source_id,
        now=now,
        expires_at=expiry_for(active.program, now),
        description=description[:255],
        meta=meta,
    )
    event = LedgerCredited(
        member_id=member_id, entry_id=entry.id, kind=kind.value, points=points, source=source.value
    )
    await emit(session, event, program_id=active.program_id, occurred_at=now)
    tier = await session.scalar(select(Member.tier_id).where(Member.id == member_id))
    await tier_service.upgrade_if_qualified(
        session, program=active.program, member_id=member_id, current_tier=tier, now=now
    )
    return Awarded(entry=entry, created=True, used=used)


async def _find(session: AsyncSession, idempotency_key: str) -> Entry | None:
    row = (
        await session.execute(select(entries).where(entries.c.idempotency_key == idempotency_key))
    ).first()
    return Entry.model_validate(row._mapping) if row is not None else None


async def _used(session: AsyncSession, member_id: int, source: LedgerSource, cap: Cap) -> int:
    total = func.coalesce(func.sum(entries.c.amount), 0)
    measure = func.count() if cap.count is not None else total
    query = select(measure).where(
        entries.c.member_id == member_id, entries.c.source_type == source.value
    )
    if cap.source_id is not None:
        query = query.where(entries.c.source_id == cap.source_id)
    if cap.since is not None:
        query = query.where(entries.c.occurred_at >= cap.since)
    return int(await session.scalar(query) or 0)
