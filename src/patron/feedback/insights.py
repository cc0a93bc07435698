"""Analysing stored feedback texts in batches, the problem table and follow-ups.

`analyse_pending` runs the text analysis (`patron.feedback.analysis.analyze`, the cascade by
default) over free-text answers and reviews not analysed yet, in batches of `CHUNK`, and
writes language, label, probability, keywords, topic, severity and flags into their rows. It
runs in the daily job and in `patron feedback analyze`. The CPU-bound analysis runs in a
worker thread, so an event loop serving requests keeps answering.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback import schemas
from patron.feedback.analysis import (
    AnalysedFeedback,
    AnalysisMode,
    Label,
    Language,
    Period,
    ProblemRow,
    TextAnalysis,
    Topic,
    analyze,
    problem_table,
)
from patron.feedback.errors import FollowUpNotFoundError
from patron.feedback.events import ReviewsFlagged
from patron.feedback.kpis import check_period
from patron.feedback.models import (
    AnalysisColumns,
    Review,
    SurveyAnswer,
    SurveyResponse,
    TicketAnalysis,
)
from patron.feedback.report_repository import ReportRepository, TextRow
from patron.feedback.repository import SurveyRepository
from patron.feedback.review_repository import ReviewRepository
from patron.kit.outbox import emit
from patron.programs import service as program_service

CHUNK = 2048
MAX_FOLLOW_UPS = 500


async def analyse_pending(
    session: AsyncSession,
    *,
    now: datetime,
    period: tuple[datetime, datetime] | None = None,
    again: bool = False,
    mode: AnalysisMode = AnalysisMode.CASCADE,
) -> schemas.AnalysisRun:
    """Analyse the free-text answers and reviews not analysed yet (all of them with `again`),
    of `period` [start, end) when given. Negative reviews get `needs_follow_up` when the
    program's `reviews.follow_up_negative_text` is on."""
    active = await program_service.get_active_program(session)
    language = Language(active.program.program.default_language.value)
    follow_negative = active.program.reviews.follow_up_negative_text
    repository = ReportRepository(session)
    labels: Counter[str] = Counter()
    for fetch in (repository.answers_to_analyse, repository.reviews_to_analyse):
        after = 0
        while True:
            rows: Sequence[SurveyAnswer | Review] = await fetch(
                active.program_id, after=after, limit=CHUNK, period=period, again=again
            )
            if not rows:
                break
            texts = [row.text or "" for row in rows]
            results = await asyncio.to_thread(analyze, texts, mode=mode, default_language=language)
            for row, result in zip(rows, results, strict=True):
                _store(row, result, now)
                if isinstance(row, Review) and follow_negative and result.label is Label.NEGATIVE:
                    if not row.needs_follow_up and row.follow_up_ref is None:
                        flagged = ReviewsFlagged(member_id=row.member_id, review_id=row.id)
                        await emit(session, flagged, program_id=row.program_id, occurred_at=now)
                    row.needs_follow_up = True
                labels[result.label.value] += 1
            await repository.flush()
            after = rows[-1].id
    await _analyse_tickets(
        repository, active.program_id, labels, now, period, again, mode, language
    )
    return schemas.AnalysisRun(analysed=sum(labels.values()), labels=dict(sorted(labels.items())))


async def _analyse_tickets(
    repository: ReportRepository,
    program_id: int,
    labels: Counter[str],
    now: datetime,
    period: tuple[datetime, datetime] | None,
    again: bool,
    mode: AnalysisMode,
    language: Language,
) -> None:
    """Support tickets' texts, stored in `ticket_analyses` (one row per ticket)."""
    after = 0
    while tickets := await repository.tickets_to_analyse(
        program_id, after=after, limit=CHUNK, period=period, again=again
    ):
        texts = [ticket.text for ticket in tickets]
        results = await asyncio.to_thread(analyze, texts, mode=mode, default_language=language)
        for ticket, result in zip(tickets, results, strict=True):
            row = ticket.analysis
            if row is None:
                row = TicketAnalysis(ticket_id=ticket.id)
                repository.add_ticket_analysis(row)
            _store(row, result, now)
            labels[result.label.value] += 1
        await repository.flush()
        after = tickets[-1].id


def _store(row: AnalysisColumns, result: TextAnalysis, now: datetime) -> None:
    row.language = result.language.value
    row.label = result.label.value
    row.probability = result.probability
    row.keywords = list(result.keywords)
    row.topic = result.topic.value
    row.severity = result.severity
    row.money_lost = result.money_lost
    row.churn_threat = result.churn_threat
    row.rudeness = result.rudeness
    row.analysed_at = now


def _feedback(row: TextRow) -> AnalysedFeedback:
    values = row.analysis
    analysis = TextAnalysis(
        language=Language(values["language"]),
        label=Label(values["label"]),
        probability=float(values["probability"] or 0.0),
        keywords=tuple(values["keywords"]),
        topic=Topic(values["topic"]),
        severity=float(values["severity"] or 0.0),
        money_lost=bool(values["money_lost"]),
        churn_threat=bool(values["churn_threat"]),
        rudeness=bool(values["rudeness"]),
    )
    return AnalysedFeedback(text=row.text, created_at=row.created_at, analysis=analysis)


async def problems(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    tier: str | None = None,
    store: str | None = None,
    sku: str | None = None,
    source: schemas.ProblemSource = schemas.ProblemSource.ALL,
    segment: str | None = None,
) -> schemas.ProblemTable:
    """The problem table of analysed texts (survey answers, reviews, support tickets) in
    [start, end), against the period of the same length just before (trend). `sku` filters
    reviews (survey answers and tickets have no product, so giving `sku` leaves them out);
    `segment` keeps the texts of members of that RFM segment (as last stored)."""
    check_period(start, end)
    active = await program_service.get_active_program(session)
    previous_start = start - (end - start)
    repository = ReportRepository(session)
    rows: list[TextRow] = []
    everything = source is schemas.ProblemSource.ALL
    if (everything or source is schemas.ProblemSource.SURVEYS) and sku is None:
        rows += await repository.analysed_answers(
            active.program_id, previous_start, end, tier, store, segment
        )
    if everything or source is schemas.ProblemSource.REVIEWS:
        rows += await repository.analysed_reviews(
            active.program_id, previous_start, end, tier, store, sku, segment
        )
    if (everything or source is schemas.ProblemSource.TICKETS) and sku is None:
        rows += await repository.analysed_tickets(
            active.program_id, previous_start, end, tier, store, segment
        )
    items = [_feedback(row) for row in rows]
    current = [item for item in items if start <= item.created_at < end]
    table = problem_table(items, Period(start, end), Period(previous_start, start))
    labels = Counter(item.analysis.label.value for item in current)
    return schemas.ProblemTable(
        start=start,
        end=end,
        previous_start=previous_start,
        texts=len(current),
        negative=labels.get(Label.NEGATIVE.value, 0),
        labels=dict(sorted(labels.items())),
        problems=[_problem_view(row) for row in table],
    )


def _problem_view(row: ProblemRow) -> schemas.Problem:
    return schemas.Problem(
        topic=row.topic.value,
        count=row.count,
        share=round(row.share, 4),
        mean_severity=round(row.mean_severity, 4),
        score=round(row.score, 4),
        previous_count=row.previous_count,
        change=None if row.change is None else round(row.change, 4),
        trend=row.trend.value,
        examples=list(row.examples),
    )


def default_period(now: datetime, days: int) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now


async def follow_ups(session: AsyncSession) -> list[schemas.FollowUp]:
    """Detractor responses and negative reviews waiting for a follow-up (no ticket yet),
    oldest first; the ticket integration opens a ticket for each and calls
    `mark_followed_up`."""
    active = await program_service.get_active_program(session)
    responses = await SurveyRepository(session).open_follow_ups(active.program_id, MAX_FOLLOW_UPS)
    reviews = await ReviewRepository(session).open_follow_ups(active.program_id, MAX_FOLLOW_UPS)
    items = [
        schemas.FollowUp(
            kind=schemas.FollowUpKind.SURVEY_RESPONSE,
            id=response.id,
            member_id=response.member_id,
            reason="nps_detractor",
            created_at=response.submitted_at,
        )
        for response in responses
    ] + [
        schemas.FollowUp(
            kind=schemas.FollowUpKind.REVIEW,
            id=review.id,
            member_id=review.member_id,
            reason="negative_review",
            created_at=review.created_at,
        )
        for review in reviews
    ]
    return sorted(items, key=lambda item: (item.created_at, item.kind.value, item.id))


async def follow_up_of(
    session: AsyncSession, *, kind: schemas.FollowUpKind, item_id: int
) -> schemas.FollowUp | None:
    """The flagged item (a detractor's response or a negative review) when it still waits
    for a follow-up; None otherwise."""
    if kind is schemas.FollowUpKind.SURVEY_RESPONSE:
        response = await session.get(SurveyResponse, item_id)
        if response is None or not response.needs_follow_up or response.follow_up_ref:
            return None
        return schemas.FollowUp(
            kind=kind,
            id=response.id,
            member_id=response.member_id,
            reason="nps_detractor",
            created_at=response.submitted_at,
        )
    review = await session.get(Review, item_id)
    if review is None or not review.needs_follow_up or review.follow_up_ref:
        return None
    return schemas.FollowUp(
        kind=kind,
        id=review.id,
        member_id=review.member_id,
        reason="negative_review",
        created_at=review.created_at,
    )


async def mark_followed_up(
    session: AsyncSession, *, kind: schemas.FollowUpKind, item_id: int, ref: str
) -> None:
    """Record the follow-up (a ticket reference such as `ticket:42`) of a flagged item."""
    if kind is schemas.FollowUpKind.SURVEY_RESPONSE:
        done = await SurveyRepository(session).set_response_follow_up(item_id, ref)
    else:
        done = await ReviewRepository(session).set_follow_up(item_id, ref)
    if not done:
        raise FollowUpNotFoundError(
            f"no {kind.value} {item_id} needs a follow-up",
            field="id",
            params={"kind": kind.value, "id": item_id},
        )


async def analyze_texts(texts: Sequence[str]) -> list[TextAnalysis]:
    """Ad-hoc analysis of texts (nothing stored), in a worker thread."""
    return await asyncio.to_thread(analyze, list(texts))
