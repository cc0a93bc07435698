"""Queries of surveys, invitations and responses (reviews: `review_repository`, reports:
`report_repository`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback.models import (
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyResponse,
    SurveySource,
)
from patron.kit.raw import Sql, raw_of
from patron.members.models import Member, MemberStatus
from patron.programs.feedback_settings import SurveyTrigger
from patron.purchases.models import Purchase
from patron.segments.models import MemberSegment

_OWN_IMMEDIATE = Sql(
    "SELECT id FROM surveys WHERE program_id = $1 AND trigger = $2 AND delay_days = 0 "
    "AND is_active AND source <> $3 LIMIT 1"
)


class SurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, program_id: int, key: str) -> Survey | None:
        found = await self.session.execute(
            select(Survey).where(Survey.program_id == program_id, Survey.key == key)
        )
        return found.scalar_one_or_none()

    async def by_id(self, survey_id: int) -> Survey | None:
        return await self.session.get(Survey, survey_id)

    async def all(self, program_id: int) -> list[Survey]:
        found = await self.session.execute(
            select(Survey).where(Survey.program_id == program_id).order_by(Survey.key)
        )
        return list(found.scalars())

    async def has_own_immediate(self, program_id: int, trigger: SurveyTrigger) -> bool:
        """Whether an active survey of ``trigger`` without a delay exists that the program
        file does not own (made through the API or the console)."""
        raw = await raw_of(self.session)  # the dispatcher's screen of every batch: raw
        found = await raw.one(_OWN_IMMEDIATE, program_id, trigger.value, SurveySource.PROGRAM.value)
        return found is not None

    async def try_insert_survey(self, survey: Survey) -> bool:
        """Insert in a savepoint; False when (program, key) exists already (a concurrent
        request synced the program file first)."""
        try:
            async with self.session.begin_nested():
                self.session.add(survey)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def add(self, row: Any) -> None:
        self.session.add(row)
        await self.session.flush()

    async def add_all(self, rows: Sequence[Any]) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def invitation(
        self, survey_id: int, member_id: int, source_ref: str
    ) -> SurveyInvitation | None:
        found = await self.session.execute(
            select(SurveyInvitation).where(
                SurveyInvitation.survey_id == survey_id,
                SurveyInvitation.member_id == member_id,
                SurveyInvitation.source_ref == source_ref,
            )
        )
        return found.scalar_one_or_none()

    async def try_insert_invitation(self, invitation: SurveyInvitation) -> bool:
        """Insert in a savepoint; False when (survey, member, source_ref) exists already."""
        try:
            async with self.session.begin_nested():
                self.session.add(invitation)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def invitation_by_token(self, token: str) -> SurveyInvitation | None:
        found = await self.session.execute(
            select(SurveyInvitation).where(SurveyInvitation.token == token)
        )
        return found.scalar_one_or_none()

    async def has_open_invitation(self, survey_id: int, member_id: int, now: datetime) -> bool:
        found = await self.session.execute(
            select(
                exists().where(
                    SurveyInvitation.survey_id == survey_id,
                    SurveyInvitation.member_id == member_id,
                    SurveyInvitation.answered_at.is_(None),
                    SurveyInvitation.expires_at > now,
                )
            )
        )
        return bool(found.scalar())

    async def claim_invitation(self, invitation_id: int, now: datetime) -> bool:
        """Mark the invitation answered; False when it was answered or expired meanwhile (the
        conditional UPDATE makes the link single-use under concurrency)."""
        result = await self.session.execute(
            update(SurveyInvitation)
            .where(
                SurveyInvitation.id == invitation_id,
                SurveyInvitation.answered_at.is_(None),
                SurveyInvitation.expires_at > now,
            )
            .values(answered_at=now)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def invitations(
        self, survey_id: int, *, pending_at: datetime | None, limit: int
    ) -> list[SurveyInvitation]:
        query = select(SurveyInvitation).where(SurveyInvitation.survey_id == survey_id)
        if pending_at is not None:
            query = query.where(
                SurveyInvitation.answered_at.is_(None), SurveyInvitation.expires_at > pending_at
            )
        found = await self.session.execute(query.order_by(SurveyInvitation.id).limit(limit))
        return list(found.scalars())

    async def open_invitations_of(
        self, member_id: int, now: datetime, limit: int
    ) -> list[tuple[SurveyInvitation, Survey]]:
        """The member's invitations not answered and not expired at ``now``, with their
        survey, the soonest to expire first."""
        found = await self.session.execute(
            select(SurveyInvitation, Survey)
            .join(Survey, Survey.id == SurveyInvitation.survey_id)
            .where(
                SurveyInvitation.member_id == member_id,
                SurveyInvitation.answered_at.is_(None),
                SurveyInvitation.expires_at > now,
            )
            .order_by(SurveyInvitation.expires_at, SurveyInvitation.id)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in found.all()]

    async def invitation_by_id(self, invitation_id: int) -> SurveyInvitation | None:
        return await self.session.get(SurveyInvitation, invitation_id)

    async def member(self, member_id: int) -> Member | None:
        return await self.session.get(Member, member_id)

    async def active_member_ids(
        self,
        program_id: int,
        member_ids: Sequence[int] | None,
        tier: str | None,
        segment: str | None = None,
    ) -> list[int]:
        query = select(Member.id).where(
            Member.program_id == program_id, Member.status == MemberStatus.ACTIVE
        )
        if member_ids is not None:
            query = query.where(Member.id.in_(member_ids))
        if tier is not None:
            query = query.where(Member.tier_id == tier)
        if segment is not None:
            query = query.join(MemberSegment, MemberSegment.member_id == Member.id).where(
                MemberSegment.rfm_segment == segment
            )
        found = await self.session.execute(query.order_by(Member.id))
        return list(found.scalars())

    async def purchases_between(
        self, program_id: int, start: datetime, end: datetime
    ) -> list[tuple[int, int, str | None]]:
        """(purchase id, member id, store) of member purchases in [start, end), oldest first."""
        found = await self.session.execute(
            select(Purchase.id, Purchase.member_id, Purchase.store)
            .join(Member, and_(Member.id == Purchase.member_id))
            .where(
                Purchase.program_id == program_id,
                Purchase.occurred_at >= start,
                Purchase.occurred_at < end,
                Member.status == MemberStatus.ACTIVE,
            )
            .order_by(Purchase.occurred_at, Purchase.id)
        )
        return [(row[0], int(row[1]), row[2]) for row in found.all() if row[1] is not None]

    async def rewarded_response_exists(self, survey_id: int, member_id: int) -> bool:
        found = await self.session.execute(
            select(
                exists().where(
                    SurveyResponse.survey_id == survey_id,
                    SurveyResponse.member_id == member_id,
                    SurveyResponse.points > 0,
                )
            )
        )
        return bool(found.scalar())

    async def responses(
        self, survey_id: int, *, after: int | None, limit: int
    ) -> list[SurveyResponse]:
        query = select(SurveyResponse).where(SurveyResponse.survey_id == survey_id)
        if after is not None:
            query = query.where(SurveyResponse.id > after)
        found = await self.session.execute(query.order_by(SurveyResponse.id).limit(limit))
        return list(found.scalars())

    async def member_responses(
        self, member_id: int, limit: int
    ) -> list[tuple[SurveyResponse, Survey]]:
        """The member's responses with their surveys, newest first."""
        found = await self.session.execute(
            select(SurveyResponse, Survey)
            .join(Survey, Survey.id == SurveyResponse.survey_id)
            .where(SurveyResponse.member_id == member_id)
            .order_by(SurveyResponse.id.desc())
            .limit(limit)
        )
        return [(row[0], row[1]) for row in found]

    async def latest_responses(self, limit: int) -> list[tuple[SurveyResponse, Survey]]:
        """The newest responses of every survey with their surveys, newest first."""
        found = await self.session.execute(
            select(SurveyResponse, Survey)
            .join(Survey, Survey.id == SurveyResponse.survey_id)
            .order_by(SurveyResponse.id.desc())
            .limit(limit)
        )
        return [(row[0], row[1]) for row in found]

    async def answers(self, response_ids: Sequence[int]) -> dict[int, list[SurveyAnswer]]:
        grouped: dict[int, list[SurveyAnswer]] = {response_id: [] for response_id in response_ids}
        if not response_ids:
            return grouped
        found = await self.session.execute(
            select(SurveyAnswer)
            .where(SurveyAnswer.response_id.in_(response_ids))
            .order_by(SurveyAnswer.id)
        )
        for answer in found.scalars():
            grouped[answer.response_id].append(answer)
        return grouped

    async def set_response_follow_up(self, response_id: int, ref: str) -> bool:
        result = await self.session.execute(
            update(SurveyResponse)
            .where(SurveyResponse.id == response_id, SurveyResponse.needs_follow_up.is_(True))
            .values(follow_up_ref=ref)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def open_follow_ups(self, program_id: int, limit: int) -> list[SurveyResponse]:
        found = await self.session.execute(
            select(SurveyResponse)
            .join(Survey, Survey.id == SurveyResponse.survey_id)
            .where(
                Survey.program_id == program_id,
                SurveyResponse.needs_follow_up.is_(True),
                SurveyResponse.follow_up_ref.is_(None),
            )
            .order_by(SurveyResponse.id)
            .limit(limit)
        )
        return list(found.scalars())
