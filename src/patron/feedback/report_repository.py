"""Reads behind KPIs, the problem table and the analysis job (no writes but analysis columns)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, String, and_, cast, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback.models import (
    Review,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyResponse,
    TicketAnalysis,
)
from patron.programs.feedback_settings import QuestionKind
from patron.segments.models import MemberSegment
from patron.support.models import Ticket

_SCORED = (QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES)


@dataclass(frozen=True)
class ScoreRow:
    kind: QuestionKind
    score: int
    tier_id: str | None
    store: str | None
    submitted_at: datetime
    segment: str | None = None  # the member's RFM segment as last refreshed


@dataclass(frozen=True)
class ReviewRow:
    rating: int
    created_at: datetime
    first_reply_at: datetime | None


@dataclass(frozen=True)
class TextRow:
    """An analysed text with what the problem table filters on."""

    text: str
    created_at: datetime
    analysis: dict[str, Any]


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def scores(self, program_id: int, start: datetime, end: datetime) -> list[ScoreRow]:
        found = await self.session.execute(
            select(
                SurveyAnswer.kind,
                SurveyAnswer.score,
                SurveyResponse.tier_id,
                SurveyResponse.store,
                SurveyAnswer.submitted_at,
                MemberSegment.rfm_segment,
            )
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .join(Survey, Survey.id == SurveyResponse.survey_id)
            .outerjoin(MemberSegment, MemberSegment.member_id == SurveyResponse.member_id)
            .where(
                Survey.program_id == program_id,
                SurveyAnswer.kind.in_(_SCORED),
                SurveyAnswer.score.is_not(None),
                SurveyAnswer.submitted_at >= start,
                SurveyAnswer.submitted_at < end,
            )
            .order_by(SurveyAnswer.id)
        )
        return [
            ScoreRow(QuestionKind(r[0]), int(r[1]), r[2], r[3], r[4], r[5])
            for r in found.all()
            if r[1] is not None
        ]

    async def ticket_csat(
        self, program_id: int, start: datetime | None, end: datetime | None
    ) -> list[tuple[str | None, int]]:
        """(assignee, CSAT score) of the CSAT answers to invitations sent for tickets
        (``source_ref`` ``ticket:<id>``) created in [start, end)."""
        reference = literal("ticket:") + cast(Ticket.id, String)
        query = (
            select(Ticket.assignee, SurveyAnswer.score)
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .join(SurveyInvitation, SurveyInvitation.id == SurveyResponse.invitation_id)
            .join(
                Ticket,
                and_(Ticket.program_id == program_id, SurveyInvitation.source_ref == reference),
            )
            .where(SurveyAnswer.kind == QuestionKind.CSAT, SurveyAnswer.score.is_not(None))
        )
        if start is not None:
            query = query.where(Ticket.created_at >= start)
        if end is not None:
            query = query.where(Ticket.created_at < end)
        rows = await self.session.execute(query)
        return [(row[0], int(row[1])) for row in rows if row[1] is not None]

    async def reviews(self, program_id: int, start: datetime, end: datetime) -> list[ReviewRow]:
        found = await self.session.execute(
            select(Review.rating, Review.created_at, Review.first_reply_at)
            .where(
                Review.program_id == program_id,
                Review.created_at >= start,
                Review.created_at < end,
            )
            .order_by(Review.id)
        )
        return [ReviewRow(r[0], r[1], r[2]) for r in found.all()]

    async def analysed_answers(
        self,
        program_id: int,
        start: datetime,
        end: datetime,
        tier: str | None,
        store: str | None,
        segment: str | None = None,
    ) -> list[TextRow]:
        query = (
            select(SurveyAnswer, SurveyResponse.tier_id, SurveyResponse.store)
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .join(Survey, Survey.id == SurveyResponse.survey_id)
            .where(
                Survey.program_id == program_id,
                SurveyAnswer.analysed_at.is_not(None),
                SurveyAnswer.submitted_at >= start,
                SurveyAnswer.submitted_at < end,
            )
        )
        query = _filtered(query, SurveyResponse, tier=tier, store=store, segment=segment)
        found = await self.session.execute(query.order_by(SurveyAnswer.id))
        return [
            TextRow(row[0].text or "", row[0].submitted_at, _analysis(row[0]))
            for row in found.all()
        ]

    async def analysed_reviews(
        self,
        program_id: int,
        start: datetime,
        end: datetime,
        tier: str | None,
        store: str | None,
        sku: str | None,
        segment: str | None = None,
    ) -> list[TextRow]:
        query = select(Review).where(
            Review.program_id == program_id,
            Review.analysed_at.is_not(None),
            Review.created_at >= start,
            Review.created_at < end,
        )
        query = _filtered(query, Review, tier=tier, store=store, segment=segment)
        if sku is not None:
            query = query.where(Review.sku == sku)
        found = await self.session.execute(query.order_by(Review.id))
        return [TextRow(row.text, row.created_at, _analysis(row)) for row in found.scalars()]

    async def analysed_tickets(
        self,
        program_id: int,
        start: datetime,
        end: datetime,
        tier: str | None,
        store: str | None,
        segment: str | None = None,
    ) -> list[TextRow]:
        """Analysed ticket texts (subject and text) of tickets opened in [start, end)."""
        query = (
            select(TicketAnalysis, Ticket.subject, Ticket.text, Ticket.created_at)
            .join(Ticket, Ticket.id == TicketAnalysis.ticket_id)
            .where(
                Ticket.program_id == program_id,
                TicketAnalysis.analysed_at.is_not(None),
                Ticket.created_at >= start,
                Ticket.created_at < end,
            )
        )
        query = _filtered(query, Ticket, tier=tier, store=store, segment=segment)
        found = await self.session.execute(query.order_by(Ticket.id))
        return [
            TextRow(ticket_text(row[1], row[2]), row[3], _analysis(row[0])) for row in found.all()
        ]

    async def tickets_to_analyse(
        self,
        program_id: int,
        *,
        after: int,
        limit: int,
        period: tuple[datetime, datetime] | None,
        again: bool,
    ) -> list[TicketText]:
        """Tickets by id after `after` whose text is not analysed yet (all with `again`)."""
        query = (
            select(Ticket.id, Ticket.subject, Ticket.text, TicketAnalysis)
            .outerjoin(TicketAnalysis, TicketAnalysis.ticket_id == Ticket.id)
            .where(Ticket.program_id == program_id, Ticket.id > after)
        )
        if not again:
            query = query.where(TicketAnalysis.ticket_id.is_(None))
        if period is not None:
            query = query.where(Ticket.created_at >= period[0], Ticket.created_at < period[1])
        found = await self.session.execute(query.order_by(Ticket.id).limit(limit))
        return [TicketText(row[0], ticket_text(row[1], row[2]), row[3]) for row in found.all()]

    def add_ticket_analysis(self, row: TicketAnalysis) -> None:
        self.session.add(row)

    async def answers_to_analyse(
        self,
        program_id: int,
        *,
        after: int,
        limit: int,
        period: tuple[datetime, datetime] | None,
        again: bool,
    ) -> list[SurveyAnswer]:
        """Free-text answers by id after `after`: unanalysed ones, or all with `again`."""
        query = (
            select(SurveyAnswer)
            .join(Survey, Survey.id == SurveyAnswer.survey_id)
            .where(
                Survey.program_id == program_id,
                SurveyAnswer.id > after,
                SurveyAnswer.kind == QuestionKind.TEXT,
                SurveyAnswer.text.is_not(None),
            )
        )
        if not again:
            query = query.where(SurveyAnswer.analysed_at.is_(None))
        if period is not None:
            query = query.where(
                SurveyAnswer.submitted_at >= period[0], SurveyAnswer.submitted_at < period[1]
            )
        found = await self.session.execute(query.order_by(SurveyAnswer.id).limit(limit))
        return list(found.scalars())

    async def reviews_to_analyse(
        self,
        program_id: int,
        *,
        after: int,
        limit: int,
        period: tuple[datetime, datetime] | None,
        again: bool,
    ) -> list[Review]:
        """Reviews with text by id after `after`: unanalysed ones, or all with `again`."""
        query = select(Review).where(
            Review.program_id == program_id, Review.id > after, Review.text != ""
        )
        if not again:
            query = query.where(Review.analysed_at.is_(None))
        if period is not None:
            query = query.where(Review.created_at >= period[0], Review.created_at < period[1])
        found = await self.session.execute(query.order_by(Review.id).limit(limit))
        return list(found.scalars())

    async def flush(self) -> None:
        await self.session.flush()


_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


def _filtered(
    query: _Query,
    model: type[SurveyResponse] | type[Review] | type[Ticket],
    *,
    tier: str | None,
    store: str | None,
    segment: str | None,
) -> _Query:
    """The problem table's filters on a model with ``tier_id``, ``store`` and ``member_id``
    (the segment is the member's as last stored)."""
    if tier is not None:
        query = query.where(model.tier_id == tier)
    if store is not None:
        query = query.where(model.store == store)
    if segment is not None:
        query = query.join(MemberSegment, MemberSegment.member_id == model.member_id).where(
            MemberSegment.rfm_segment == segment
        )
    return query


def ticket_text(subject: str, text: str) -> str:
    """What is analysed of a ticket: its subject and text as one text."""
    return f"{subject}. {text}" if subject and text else subject or text


@dataclass
class TicketText:
    """A ticket to analyse: its id, text, and its stored analysis if any (for `again`)."""

    id: int
    text: str
    analysis: TicketAnalysis | None


def _analysis(row: SurveyAnswer | Review | TicketAnalysis) -> dict[str, Any]:
    return {
        "language": row.language,
        "label": row.label,
        "probability": row.probability,
        "keywords": list(row.keywords or []),
        "topic": row.topic,
        "severity": row.severity,
        "money_lost": row.money_lost,
        "churn_threat": row.churn_threat,
        "rudeness": row.rudeness,
    }
