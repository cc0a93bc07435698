"""Survey and review KPIs for a period: overall, per tier, per segment, per store and per month.

- NPS = % promoters (9-10) - % detractors (0-6) of the NPS answers, from -100 to 100.
- CSAT = % of CSAT answers that are 4 or 5.
- CES = the mean CES answer (1-7).
- Reviews answered within 24 h = reviews whose first staff reply came at most 24 hours after
  the review / all reviews of the period.

Answers count in the period of their submission; tier and store are those of the response
(kept at answer time). Months are calendar months in the program's time zone (`YYYY-MM`);
answers of members without a tier count under `none`; answers without a store (surveys that
did not follow a purchase) are left out of `per_store` only. The segment is the member's RFM
segment as the daily job last stored it (`docs/segments.md`), `none` for a member without one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback import schemas
from patron.feedback.report_repository import ReportRepository, ReviewRow, ScoreRow
from patron.kit.errors import InvalidInputError
from patron.kit.time import local
from patron.programs import service as program_service
from patron.programs.feedback_settings import QuestionKind

NO_TIER = "none"
ANSWERED_WITHIN = timedelta(hours=24)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def kpi_group(rows: Sequence[ScoreRow]) -> schemas.KpiGroup:
    """NPS, CSAT and CES of score rows (each row counts for its own kind only)."""
    nps = [row.score for row in rows if row.kind is QuestionKind.NPS]
    csat = [row.score for row in rows if row.kind is QuestionKind.CSAT]
    ces = [row.score for row in rows if row.kind is QuestionKind.CES]
    promoters = sum(1 for score in nps if score >= 9)
    detractors = sum(1 for score in nps if score <= 6)
    nps_value = round(100 * (promoters - detractors) / len(nps), 2) if nps else None
    satisfied = sum(1 for score in csat if score >= 4)
    return schemas.KpiGroup(
        nps=schemas.NpsScore(
            count=len(nps),
            promoters=promoters,
            passives=len(nps) - promoters - detractors,
            detractors=detractors,
            value=nps_value,
        ),
        csat=schemas.CsatScore(
            count=len(csat), satisfied=satisfied, value=_percent(satisfied, len(csat))
        ),
        ces=schemas.CesScore(
            count=len(ces),
            total=sum(ces),
            value=round(sum(ces) / len(ces), 4) if ces else None,
        ),
    )


def review_kpis(rows: Sequence[ReviewRow]) -> schemas.ReviewKpis:
    answered = [row for row in rows if row.first_reply_at is not None]
    within = sum(
        1
        for row in answered
        if row.first_reply_at is not None and row.first_reply_at - row.created_at <= ANSWERED_WITHIN
    )
    return schemas.ReviewKpis(
        count=len(rows),
        answered=len(answered),
        answered_within_24h=within,
        share_answered_within_24h=round(within / len(rows), 4) if rows else None,
        mean_rating=round(sum(row.rating for row in rows) / len(rows), 4) if rows else None,
    )


def _grouped(rows: Sequence[ScoreRow], key: str, timezone: str) -> dict[str, schemas.KpiGroup]:
    groups: dict[str, list[ScoreRow]] = defaultdict(list)
    for row in rows:
        if key == "tier":
            groups[row.tier_id or NO_TIER].append(row)
        elif key == "segment":
            groups[row.segment or NO_TIER].append(row)
        elif key == "store" and row.store is not None:
            groups[row.store].append(row)
        elif key == "month":
            groups[local(row.submitted_at, timezone).strftime("%Y-%m")].append(row)
    return {name: kpi_group(groups[name]) for name in sorted(groups)}


def check_period(start: datetime, end: datetime) -> None:
    if start >= end:
        raise InvalidInputError("start must be before end", field="start")


async def kpis(session: AsyncSession, *, start: datetime, end: datetime) -> schemas.Kpis:
    """The KPIs of answers and reviews in [start, end) (see the module for the formulas)."""
    check_period(start, end)
    active = await program_service.get_active_program(session)
    repository = ReportRepository(session)
    rows = await repository.scores(active.program_id, start, end)
    timezone = active.program.program.timezone
    return schemas.Kpis(
        start=start,
        end=end,
        overall=kpi_group(rows),
        per_tier=_grouped(rows, "tier", timezone),
        per_segment=_grouped(rows, "segment", timezone),
        per_store=_grouped(rows, "store", timezone),
        monthly=_grouped(rows, "month", timezone),
        reviews=review_kpis(await repository.reviews(active.program_id, start, end)),
    )


async def csat_by_agent(
    session: AsyncSession, *, start: datetime | None, end: datetime | None
) -> dict[str, tuple[float, int]]:
    """CSAT per support agent: ``{assignee: (CSAT %, answers)}`` over the CSAT answers to
    the surveys sent after the agent's tickets created in [start, end) were resolved (CSAT
    as above: the share of answers that are 4 or 5). Unassigned tickets are left out."""
    active = await program_service.get_active_program(session)
    scores: dict[str, list[int]] = defaultdict(list)
    for assignee, score in await ReportRepository(session).ticket_csat(
        active.program_id, start, end
    ):
        if assignee is not None:
            scores[assignee].append(score)
    return {
        agent: (round(100 * sum(1 for s in values if s >= 4) / len(values), 2), len(values))
        for agent, values in sorted(scores.items())
    }
