"""Reading a member's challenges, badges and completions (the API's member, the console, the
portal and ``patron members show``). Never writes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.challenges.models import ChallengeProgress, MemberBadge
from patron.challenges.progress import week_of
from patron.challenges.schemas import (
    BadgeRead,
    ChallengeProgressRead,
    CompletionRead,
    MemberDetail,
)
from patron.members.overview import MemberOverview
from patron.members.schemas import Member
from patron.programs import service as program_service
from patron.programs.repository import ProgramRepository
from patron.programs.schemas import ActiveProgram
from patron.rules.periods import LIFETIME_KEY, limit_period_key
from patron.rules.vocabulary.challenges import Challenge


async def program_of(session: AsyncSession, program_id: int | None) -> ActiveProgram | None:
    """The active version of the program ``program_id`` (None: no such program)."""
    if program_id is None:
        return None
    key = await ProgramRepository(session).key_of(program_id)
    if key is None:
        return None
    return await program_service.get_active_program(session, key=key)


def _period_key(challenge: Challenge, now: datetime, timezone: str) -> str:
    if challenge.goal.streak is not None:
        return LIFETIME_KEY
    return limit_period_key(challenge.period.limit_period, now, timezone)


async def member_challenges(
    session: AsyncSession, *, active: ActiveProgram, member_id: int, now: datetime, language: str
) -> list[ChallengeProgressRead]:
    """The member's progress on every challenge of the active program, in file order."""
    challenges = active.program.challenges
    if not challenges:
        return []
    timezone = active.program.program.timezone
    periods = {c.key: _period_key(c, now, timezone) for c in challenges}
    rows = await session.scalars(
        select(ChallengeProgress).where(
            ChallengeProgress.program_id == active.program_id,
            ChallengeProgress.member_id == member_id,
            ChallengeProgress.challenge_key.in_(list(periods)),
            ChallengeProgress.period_key.in_(set(periods.values())),
        )
    )
    found = {(row.challenge_key, row.period_key): row for row in rows}
    shown: list[ChallengeProgressRead] = []
    for challenge in challenges:
        row = found.get((challenge.key, periods[challenge.key]))
        count = row.count if row is not None else 0
        streak = challenge.goal.streak is not None
        last_week = row.last_week if row is not None else None
        if streak and (last_week is None or last_week < week_of(now, timezone) - timedelta(7)):
            count = 0  # a whole calendar week passed without one: the streak is broken
        shown.append(
            ChallengeProgressRead(
                key=challenge.key,
                name=challenge.name.pick(language),
                of=challenge.goal.of.value,
                event=challenge.goal.event,
                goal="streak" if streak else "count",
                period=challenge.period.value,
                period_key=periods[challenge.key],
                count=count,
                target=challenge.goal.target,
                last_week=last_week,
                completed_at=row.completed_at if row is not None else None,
                points=row.points if row is not None else 0,
                badge=challenge.badge.key if challenge.badge is not None else None,
            )
        )
    return shown


async def member_badges(
    session: AsyncSession, *, active: ActiveProgram, member_id: int, language: str
) -> list[BadgeRead]:
    """The badges the member earned, oldest first."""
    rows = await session.scalars(
        select(MemberBadge)
        .where(MemberBadge.member_id == member_id)
        .order_by(MemberBadge.earned_at, MemberBadge.id)
    )
    names = {
        c.badge.key: c.badge.name.pick(language)
        for c in active.program.challenges
        if c.badge is not None
    }
    return [
        BadgeRead(
            key=row.badge_key,
            name=names.get(row.badge_key, row.badge_key),
            challenge_key=row.challenge_key,
            earned_at=row.earned_at,
        )
        for row in rows
    ]


async def member_completions(session: AsyncSession, *, member_id: int) -> list[CompletionRead]:
    """Every challenge the member completed, in any period, newest first."""
    rows = await session.scalars(
        select(ChallengeProgress)
        .where(
            ChallengeProgress.member_id == member_id,
            ChallengeProgress.completed_at.is_not(None),
        )
        .order_by(ChallengeProgress.completed_at.desc(), ChallengeProgress.id.desc())
    )
    return [
        CompletionRead(
            challenge_key=row.challenge_key,
            period_key=row.period_key,
            target=row.target,
            completed_at=row.completed_at,
            points=row.points,
            entry_id=row.entry_id,
        )
        for row in rows
        if row.completed_at is not None
    ]


async def member_progress(
    session: AsyncSession, member: Member, now: datetime
) -> tuple[list[ChallengeProgressRead], list[BadgeRead]]:
    """The member's challenges (progress as of ``now``) and badges, named in the member's
    language (else the program's default): what ``GET /members/{id}`` and its
    ``/challenges`` carry, and ``patron members show`` prints."""
    active = await program_of(session, member.program_id)
    if active is None:
        return [], []
    default = active.program.program.default_language.value
    language = member.language.value if member.language is not None else default
    challenges = await member_challenges(
        session, active=active, member_id=member.id, now=now, language=language
    )
    badges = await member_badges(session, active=active, member_id=member.id, language=language)
    return challenges, badges


async def member_detail(
    session: AsyncSession, member: MemberOverview, now: datetime
) -> MemberDetail:
    """The member (as the caller may see it) with its ``challenges`` and ``badges``."""
    challenges, badges = await member_progress(session, member, now)
    return MemberDetail(**dict(member), challenges=challenges, badges=badges)
