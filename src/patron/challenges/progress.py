"""Advancing the members' challenges: what counts, once, and what completing one gives. Never
commits.

:func:`advance` runs in the unit of work of the handler of the event that counted (a purchase
recorded, a review written, a survey answered, a custom event). It locks the member's account
first, so two events of one member advance their challenges one after the other; then, for
each challenge of the active program that counts the thing (``goal.of``, the custom event's
type, the purchase conditions ``goal.when``):

1. writes a step named by the occurrence (``purchase:17``; for a streak the calendar week,
   ``week:2026-11-30``) with ``ON CONFLICT DO NOTHING``: a step written before (the same event
   delivered again) counts nothing more;
2. adds one to the count of the period that holds the event's time (``2026-12``, ``2026-W49``
   or ``lifetime``, in the program's time zone), or for a streak recomputes the weeks in a row
   from the steps (calendar weeks from Monday: a week without a step breaks the streak);
3. on reaching the target, once per member, challenge and period: credits the reward's bonus
   points through :func:`patron.awards.service.award` (key
   ``challenge:<key>:<member>:<period>``, so no replay credits twice), gives the reward's
   ``issue_reward`` coupon through the deferred effects' applier
   (:func:`patron.campaigns.deferred.apply_effects`, key
   ``deferred:<member>:challenge:<period>:<key>:0``), earns the badge (once per member,
   ever), and emits ``challenges.completed`` and ``badges.earned``.

A blocked or erased member advances nothing. A return takes nothing back: a purchase that was
counted stays counted, and a reward given stays given (docs/campaigns.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from patron.awards.service import award
from patron.campaigns.deferred import Applied, apply_effects
from patron.challenges.events import BadgeEarned, ChallengeCompleted
from patron.challenges.models import ChallengeProgress, ChallengeStep, MemberBadge
from patron.kit.outbox import emit
from patron.kit.time import local
from patron.ledger import service as ledger_service
from patron.ledger.sources import LedgerSource
from patron.members.models import Member, MemberStatus
from patron.programs.schemas import ActiveProgram
from patron.rules.compiled import compile_conditions, compile_program
from patron.rules.conditions import check_conditions, purchase_facts
from patron.rules.context import PurchaseContext
from patron.rules.periods import LIFETIME_KEY, limit_period_key
from patron.rules.vocabulary import Deferred
from patron.rules.vocabulary.challenges import Challenge, ChallengeOf


@dataclass(frozen=True, slots=True)
class Counted:
    """Something a member did that challenges may count. ``purchase`` is the purchase as the
    rules see it (needed only by challenges with purchase conditions)."""

    of: ChallengeOf
    occurrence: str  # purchase:17, review:3, survey:9, event:42
    occurred_at: datetime
    event: str | None = None  # the custom event's type
    purchase: PurchaseContext | None = None


def week_of(moment: datetime, timezone: str) -> date:
    """The Monday of the calendar week (the program's time zone) holding ``moment``."""
    day = local(moment, timezone).date()
    return day - timedelta(days=day.weekday())


def runs(weeks: Sequence[date]) -> tuple[int, int]:
    """``(current, longest)``: the weeks in a row ending with the latest of ``weeks`` (Mondays,
    any order), and the longest such run."""
    ordered = sorted(set(weeks))
    longest = current = 0
    previous: date | None = None
    for week in ordered:
        current = current + 1 if previous is not None and week - previous == timedelta(7) else 1
        longest = max(longest, current)
        previous = week
    return current, longest


def counting(active: ActiveProgram, counted: Counted) -> list[Challenge]:
    """The program's challenges that count ``counted`` (its purchase conditions aside)."""
    return [
        challenge
        for challenge in active.program.challenges
        if challenge.goal.of is counted.of
        and (counted.of is not ChallengeOf.EVENT or challenge.goal.event == counted.event)
    ]


def _holds(active: ActiveProgram, challenge: Challenge, counted: Counted) -> bool:
    when = challenge.goal.when
    if when is None:
        return True
    if counted.purchase is None:
        return False
    program = active.program
    compiled = compile_conditions(program, when)
    facts = purchase_facts(compile_program(program), counted.purchase)
    return not check_conditions(compiled, facts).failed


def _insert(session: AsyncSession, table: type, conflict: list[str], values: dict[str, object]):  # type: ignore[no-untyped-def]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(
            table.id  # type: ignore[attr-defined]
        )
    )


async def advance(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    counted: Counted,
    now: datetime,
) -> list[str]:
    """Advance the member's challenges that count ``counted`` (see the module docstring);
    the keys of the challenges it completed."""
    challenges = counting(active, counted)
    if not challenges:
        return []
    await ledger_service.lock_account_for_update(session, member_id)
    member = (
        await session.execute(
            select(Member.status, Member.erased_at, Member.language).where(Member.id == member_id)
        )
    ).first()
    if member is None or member.status is not MemberStatus.ACTIVE or member.erased_at is not None:
        return []
    completed: list[str] = []
    for challenge in challenges:
        if not _holds(active, challenge, counted):
            continue
        if await _step(session, active, member_id, challenge, counted, now):
            default = active.program.program.default_language.value
            language = member.language.value if member.language is not None else default
            done = await _progress(session, active, member_id, challenge, counted, now, language)
            if done:
                completed.append(challenge.key)
    return completed


def _period_key(active: ActiveProgram, challenge: Challenge, moment: datetime) -> str:
    if challenge.goal.streak is not None:
        return LIFETIME_KEY
    return limit_period_key(challenge.period.limit_period, moment, active.program.program.timezone)


async def _step(
    session: AsyncSession,
    active: ActiveProgram,
    member_id: int,
    challenge: Challenge,
    counted: Counted,
    now: datetime,
) -> bool:
    """Write the step; False when it was written before (nothing more counts)."""
    occurrence = counted.occurrence
    if challenge.goal.streak is not None:
        timezone = active.program.program.timezone
        occurrence = f"week:{week_of(counted.occurred_at, timezone).isoformat()}"
    values: dict[str, object] = {
        "program_id": active.program_id,
        "challenge_key": challenge.key,
        "member_id": member_id,
        "period_key": _period_key(active, challenge, counted.occurred_at),
        "occurrence": occurrence,
        "occurred_at": counted.occurred_at,
        "created_at": now,
    }
    conflict = ["program_id", "challenge_key", "member_id", "occurrence"]
    return await session.scalar(_insert(session, ChallengeStep, conflict, values)) is not None


async def _row(
    session: AsyncSession, active: ActiveProgram, member_id: int, challenge: Challenge, key: str
) -> ChallengeProgress:
    row = await session.scalar(
        select(ChallengeProgress).where(
            ChallengeProgress.program_id == active.program_id,
            ChallengeProgress.challenge_key == challenge.key,
            ChallengeProgress.member_id == member_id,
            ChallengeProgress.period_key == key,
        )
    )
    if row is None:  # the member's account is locked: no one else inserts it meanwhile
        row = ChallengeProgress(
            program_id=active.program_id,
            challenge_key=challenge.key,
            member_id=member_id,
            period_key=key,
            count=0,
            target=challenge.goal.target,
            points=0,
        )
        session.add(row)
    return row


async def _weeks(
    session: AsyncSession, active: ActiveProgram, member_id: int, challenge: Challenge
) -> list[date]:
    occurrences = await session.scalars(
        select(ChallengeStep.occurrence).where(
            ChallengeStep.program_id == active.program_id,
            ChallengeStep.challenge_key == challenge.key,
            ChallengeStep.member_id == member_id,
        )
    )
    return [date.fromisoformat(item.removeprefix("week:")) for item in occurrences]


async def _progress(
    session: AsyncSession,
    active: ActiveProgram,
    member_id: int,
    challenge: Challenge,
    counted: Counted,
    now: datetime,
    language: str,
) -> bool:
    """Count the step; complete the challenge when it reached the target (True then)."""
    key = _period_key(active, challenge, counted.occurred_at)
    row = await _row(session, active, member_id, challenge, key)
    row.updated_at = now
    if challenge.goal.streak is not None:
        weeks = await _weeks(session, active, member_id, challenge)
        current, longest = runs(weeks)
        row.count, row.last_week = current, max(weeks)
        reached = longest >= challenge.goal.target
    else:
        row.count += 1
        reached = row.count >= challenge.goal.target
    if not reached or row.completed_at is not None:
        await session.flush()
        return False
    row.completed_at = counted.occurred_at
    await _complete(session, active, member_id, challenge, row, now, language)
    return True


async def _complete(
    session: AsyncSession,
    active: ActiveProgram,
    member_id: int,
    challenge: Challenge,
    row: ChallengeProgress,
    now: datetime,
    language: str,
) -> None:
    reward = challenge.reward
    if reward is not None and reward.bonus_points is not None:
        awarded = await award(
            session,
            active=active,
            member_id=member_id,
            points=reward.bonus_points,
            source=LedgerSource.CHALLENGE,
            source_id=challenge.key,
            key=(challenge.key, member_id, row.period_key),
            now=now,
            description=challenge.name.pick(language),
            meta={"challenge": challenge.key, "period": row.period_key},
        )
        if awarded.created and awarded.entry is not None:
            row.points, row.entry_id = reward.bonus_points, awarded.entry.id
    if reward is not None and reward.issue_reward is not None:
        applied = Applied(
            active,
            None,
            member_id,
            "challenge",
            challenge.key,
            0,
            row.completed_at or now,
            now,
            occurrence=f"challenge:{row.period_key}",
            points=row.points,
        )
        await apply_effects(session, applied, [Deferred(issue_reward=reward.issue_reward)])
    await session.flush()
    badge = challenge.badge
    events: list[ChallengeCompleted | BadgeEarned] = [
        ChallengeCompleted(
            member_id=member_id,
            challenge_key=challenge.key,
            period_key=row.period_key,
            target=row.target,
            points=row.points,
            entry_id=row.entry_id,
            badge_key=badge.key if badge is not None else None,
            reward_key=(
                reward.issue_reward.reward
                if reward is not None and reward.issue_reward is not None
                else None
            ),
        )
    ]
    if badge is not None:
        values: dict[str, object] = {
            "program_id": active.program_id,
            "member_id": member_id,
            "badge_key": badge.key,
            "challenge_key": challenge.key,
            "period_key": row.period_key,
            "earned_at": row.completed_at,
        }
        conflict = ["member_id", "badge_key"]
        if await session.scalar(_insert(session, MemberBadge, conflict, values)) is not None:
            events.append(
                BadgeEarned(member_id=member_id, badge_key=badge.key, challenge_key=challenge.key)
            )
    for event in events:
        await emit(session, event, program_id=active.program_id, occurred_at=now)
