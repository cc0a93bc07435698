"""``/feedback``: ad-hoc text analysis, the problem table, KPIs and follow-ups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from patron.api.deps import Now, ReadSession, Staff
from patron.api.params import YEARS_1970_2200, IsoMoment, years
from patron.api.responses import raises
from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.feedback.schemas import AnalyzeRequest, AnalyzeResponse, AnalyzeResult
from patron.kit.errors import InvalidInputError
from patron.kit.time import period

router = APIRouter(prefix="/feedback", tags=["feedback"])

PROBLEM_DAYS = 30
KPI_DAYS = 365
_YEAR_BOUNDS = (1970, 2200)
_YEARS = years(YEARS_1970_2200)
Filter = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.post("/analyze", response_model=AnalyzeResponse)
async def analyze(data: AnalyzeRequest, _: Staff) -> AnalyzeResponse:
    """Language, label (negative, positive, suggestion, neutral) with its probability,
    lemmatised keywords and topic of each text (up to 1,000), in order. Nothing is stored."""
    results = await feedback_service.analyze_texts(data.texts)
    return AnalyzeResponse(
        results=[
            AnalyzeResult(
                language=result.language.value,
                label=result.label.value,
                probability=round(result.probability, 4),
                keywords=list(result.keywords),
                topic=result.topic.value,
            )
            for result in results
        ]
    )


@router.get("/problems", response_model=schemas.ProblemTable)
@raises(InvalidInputError)
async def problems(
    session: ReadSession,
    _: Staff,
    now: Now,
    start: Annotated[IsoMoment | None, Query(json_schema_extra=_YEARS)] = None,
    end: Annotated[IsoMoment | None, Query(json_schema_extra=_YEARS)] = None,
    tier: Filter = None,
    store: Filter = None,
    sku: Filter = None,
    segment: Filter = None,
    source: schemas.ProblemSource = schemas.ProblemSource.ALL,
) -> schemas.ProblemTable:
    """Complaints of the period (default: the last 30 days) by topic, ranked by count x mean
    severity, with the trend against the period of the same length before."""
    since, until = period(start, end, now=now, days=PROBLEM_DAYS, years=_YEAR_BOUNDS)
    return await feedback_service.problems(
        session,
        start=since,
        end=until,
        tier=tier,
        store=store,
        sku=sku,
        source=source,
        segment=segment,
    )


@router.get("/kpis", response_model=schemas.Kpis)
@raises(InvalidInputError)
async def kpis(
    session: ReadSession,
    _: Staff,
    now: Now,
    start: Annotated[IsoMoment | None, Query(json_schema_extra=_YEARS)] = None,
    end: Annotated[IsoMoment | None, Query(json_schema_extra=_YEARS)] = None,
) -> schemas.Kpis:
    """NPS, CSAT and CES overall, per tier, per store and per month, and the share of reviews
    answered within 24 hours, for the period (default: the last 365 days)."""
    since, until = period(start, end, now=now, days=KPI_DAYS, years=_YEAR_BOUNDS)
    return await feedback_service.kpis(session, start=since, end=until)


@router.get("/follow-ups", response_model=list[schemas.FollowUp])
async def follow_ups(session: ReadSession, _: Staff) -> list[schemas.FollowUp]:
    """NPS detractors (of surveys with ``follow_up_detractors``) and negative reviews that
    have no follow-up (ticket) yet, oldest first."""
    return await feedback_service.follow_ups(session)
