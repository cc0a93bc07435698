"""Tier use cases: upgrade at once when the metric crosses a threshold; review daily.

Upgrades happen inside the unit of work that raised the metric (a purchase, a bonus).
Downgrades happen only at the daily review (``patron jobs run``), at most one level per
review, and each local day is reviewed once, so running the job twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import emit_many
from patron.kit.time import local
from patron.ledger import service as ledger_service
from patron.programs.schema import Program, QualifyOn
from patron.tiers.events import TiersChanged
from patron.tiers.models import TierChange
from patron.tiers.policy import next_threshold, qualified_tier, rank, review_move, window_start
from patron.tiers.repository import TierRepository

REVIEW_BATCH = 1000


async def metrics(
    session: AsyncSession, *, program: Program, member_ids: Sequence[int], now: datetime
) -> dict[int, int]:
    """The qualification metric of each member (points or minor units) in the window."""
    assert program.tiers is not None
    since = window_start(program.tiers, now, program.program.timezone)
    repository = TierRepository(session)
    if program.tiers.qualify_on is QualifyOn.MONEY_SPENT:
        found = await repository.money_spent(member_ids, since)
    else:
        found = await repository.points_earned(
            member_ids, since, with_opening=program.tiers.opening_points_qualify
        )
    return {member_id: found.get(member_id, 0) for member_id in member_ids}


async def upgrade_if_qualified(
    session: AsyncSession,
    *,
    program: Program,
    member_id: int,
    current_tier: str | None,
    now: datetime,
    lifetime_earned: int | None = None,
) -> TierChange | None:
    """Move the member up at once if the metric reached a higher threshold.

    Cheap on the hot path: for points tiers the lifetime figure cached on the account bounds
    every window from above, so the windowed query runs only when an upgrade is possible.
    A caller that already knows the lifetime figure (it holds the account lock) passes it.
    """
    if program.tiers is None:
        return None
    threshold = next_threshold(program, current_tier)
    if threshold is None:
        return None
    with_opening = program.tiers.opening_points_qualify
    if program.tiers.qualify_on is QualifyOn.POINTS_EARNED and not with_opening:
        # opening entries are not in lifetime_earned: the bound holds only without them
        lifetime = lifetime_earned
        if lifetime is None:
            lifetime = await ledger_service.lifetime_earned(session, member_id=member_id)
        if lifetime < threshold:
            return None
    since = window_start(program.tiers, now, program.program.timezone)
    money = program.tiers.qualify_on is QualifyOn.MONEY_SPENT
    metric = await TierRepository(session).member_metric(
        member_id, since, money=money, with_opening=with_opening
    )
    target = qualified_tier(program, metric)
    if rank(program, target) <= rank(program, current_tier):
        return None
    return await _move(
        session,
        program,
        member_id=member_id,
        from_tier=current_tier,
        to_tier=target,
        reason=f"upgrade: metric {metric} reached the threshold",
        metric=metric,
        now=now,
    )


async def _move(
    session: AsyncSession,
    program: Program | None,
    *,
    member_id: int,
    from_tier: str | None,
    to_tier: str | None,
    reason: str,
    metric: int,
    now: datetime,
) -> TierChange:
    """Move the member and emit ``tiers.changed`` in the same unit of work. Without the
    program (a tier carried over by an import) the direction is "up" unless the tier is
    cleared."""
    if program is not None:
        up = rank(program, to_tier) > rank(program, from_tier)
    else:
        up = to_tier is not None
    event = TiersChanged(
        member_id=member_id,
        from_tier=from_tier,
        to_tier=to_tier,
        direction="up" if up else "down",
        reason=reason,
    )
    return await TierRepository(session).move_with_event(event, metric=metric, now=now)


@dataclass(frozen=True, slots=True)
class ReviewResult:
    ran: bool
    reviewed: int = 0
    upgraded: int = 0
    downgraded: int = 0


async def review_tiers(
    session: AsyncSession, *, program_id: int, program: Program, now: datetime
) -> ReviewResult:
    """The daily review of every member of the program (once per local day)."""
    if program.tiers is None:
        return ReviewResult(ran=False)
    repository = TierRepository(session)
    review = await repository.claim_review(
        program_id, local(now, program.program.timezone).date(), now
    )
    if review is None:
        return ReviewResult(ran=False)
    reviewed = upgraded = downgraded = 0
    after = 0
    while batch := await repository.member_tiers(program_id, after, REVIEW_BATCH):
        after = batch[-1][0]
        found = await metrics(session, program=program, member_ids=[m for m, *_ in batch], now=now)
        for member_id, current, until in batch:
            reviewed += 1
            if until is not None and now < until:
                continue  # a carried-over tier holds until then
            move = review_move(program, current, found[member_id])
            if move is None:
                continue
            await _move(
                session,
                program,
                member_id=member_id,
                from_tier=current,
                to_tier=move.to_tier,
                reason=move.reason,
                metric=found[member_id],
                now=now,
            )
            if rank(program, move.to_tier) > rank(program, current):
                upgraded += 1
            else:
                downgraded += 1
    review.reviewed, review.upgraded, review.downgraded = reviewed, upgraded, downgraded
    await session.flush()
    return ReviewResult(ran=True, reviewed=reviewed, upgraded=upgraded, downgraded=downgraded)


IMPORTED = "imported"


async def carry_over_tier(
    session: AsyncSession,
    *,
    member_id: int,
    current_tier: str | None,
    tier: str | None,
    until: datetime | None,
    now: datetime,
) -> TierChange | None:
    """Set a tier the member held in the shop's previous program (reason ``imported``). It
    holds until ``until``; without one, the next review applies the downgrade policy. The
    same tier again only moves ``until``; nothing else changes."""
    repository = TierRepository(session)
    await repository.set_tier_until(member_id, until if tier is not None else None)
    if tier == current_tier:
        return None
    return await _move(
        session,
        None,
        member_id=member_id,
        from_tier=current_tier,
        to_tier=tier,
        reason=IMPORTED,
        metric=0,
        now=now,
    )


async def carry_over_first_tiers(
    session: AsyncSession,
    *,
    program_id: int,
    tiers: Sequence[tuple[int, str, datetime | None]],
    now: datetime,
) -> None:
    """:func:`carry_over_tier` for members enrolled in this unit of work, who hold no tier yet
    (``(member_id, tier, until)`` each): the same rows and ``tiers.changed`` events, written
    in a few driver calls instead of four statements a member (``patron import members``)."""
    if not tiers:
        return
    await TierRepository(session).set_first_tiers(tiers, IMPORTED, now)
    events = [
        TiersChanged(
            member_id=member_id, from_tier=None, to_tier=tier, direction="up", reason=IMPORTED
        )
        for member_id, tier, _ in tiers
    ]
    await emit_many(session, events, program_id=program_id, occurred_at=now)


async def tier_history(session: AsyncSession, *, member_id: int) -> list[TierChange]:
    return await TierRepository(session).history(member_id)
