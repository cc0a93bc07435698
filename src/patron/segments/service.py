"""Segments use cases: read the history a refresh needs, store its results, and answer who is
in which segment. Never commits: the job, request or command is the unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.members import service as member_service
from patron.members.schemas import Member
from patron.members.search import search_members as search_all_members
from patron.programs.schema import Program
from patron.programs.segmentation import SegmentSettings
from patron.segments.errors import UnknownSegmentError
from patron.segments.models import MemberSegment
from patron.segments.repository import SegmentRepository, segment_member_ids
from patron.segments.schemas import (
    GridCell,
    GroupSize,
    MemberGroups,
    MemberInsights,
    MemberScores,
    MemberScoresPage,
    RefreshReport,
    RfmOverview,
    SegmentGroup,
    SegmentSize,
)
from patron.segments.scoring import score_members, segment_rows

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class History:
    """A program's purchase history up to a moment: one row per purchase
    (:data:`~patron.segments.rfm.PURCHASE_SCHEMA`) and the line spend per member and category
    (:data:`~patron.segments.groups.LINE_SCHEMA`)."""

    purchases: pl.DataFrame
    lines: pl.DataFrame


def settings_of(program: Program) -> SegmentSettings:
    """The program's ``segments:`` section, or the defaults."""
    return program.segments if program.segments is not None else SegmentSettings()


async def load_history(session: AsyncSession, *, program_id: int, as_of: datetime) -> History:
    repository = SegmentRepository(session)
    return History(
        purchases=await repository.purchases(program_id, as_of=as_of),
        lines=await repository.line_spend(program_id, as_of=as_of),
    )


async def store_refresh(
    session: AsyncSession,
    *,
    program_key: str,
    program_id: int,
    program: Program,
    history: History,
    churn: pl.DataFrame | None,
    clv_problem: str | None,
    now: datetime,
) -> RefreshReport:
    """Score every member of the program from ``history`` as of ``now`` and replace the
    program's stored rows with the result (members without purchases lose their row).

    ``churn`` holds P(alive), expected purchases and CLV per member
    (:data:`~patron.segments.churn.CHURN_SCHEMA`), None when the models could not be fitted
    (``clv_problem`` says why). Idempotent: the same history at the same ``now`` stores the
    same rows, and a second refresh on the same UTC day keeps ``previous_p_alive``.
    """
    settings = settings_of(program)
    repository = SegmentRepository(session)
    scores = score_members(history.purchases, history.lines, settings=settings, as_of=now)
    previous = await repository.stored_p_alive(program_id)
    rows = segment_rows(
        scores,
        churn,
        previous,
        settings=settings,
        program_id=program_id,
        currency=program.currency,
        now=now,
    )
    await repository.replace(program_id, rows)
    kept = {row["member_id"] for row in rows}
    return RefreshReport(
        program=program_key,
        members=len(rows),
        removed=sum(1 for member in previous.get_column("member_id") if member not in kept),
        at_risk=sum(1 for row in rows if row["is_at_risk"]),
        clv_fitted=churn is not None,
        clv_problem=clv_problem,
        computed_at=now,
    )


def _scores(row: MemberSegment) -> MemberScores:
    return MemberScores(
        member_id=row.member_id,
        rfm_segment=row.rfm_segment,
        recency_days=row.recency_days,
        frequency=row.frequency,
        monetary=row.monetary,
        currency=row.currency,
        recency_score=row.recency_score,
        frequency_score=row.frequency_score,
        monetary_score=row.monetary_score,
        groups=MemberGroups(
            high_value=row.is_high_value,
            regular=row.is_regular,
            category_lover=row.is_category_lover,
            favourite_category=row.favourite_category,
            favourite_category_share=row.favourite_category_share,
        ),
        p_alive=row.p_alive,
        previous_p_alive=row.previous_p_alive,
        expected_purchases=row.expected_purchases,
        horizon_days=row.horizon_days,
        clv=row.clv,
        at_risk=row.is_at_risk,
        computed_at=row.computed_at,
    )


async def member_insights(session: AsyncSession, *, member_id: int) -> MemberInsights:
    """The member's stored scores; ``MemberNotFoundError`` for an unknown member."""
    await member_service.get_member(session, member_id=member_id)
    row = await SegmentRepository(session).get(member_id)
    return MemberInsights(
        member_id=member_id, scored=row is not None, scores=None if row is None else _scores(row)
    )


async def has_scores(session: AsyncSession, *, program_id: int) -> bool:
    return await SegmentRepository(session).last_computed(program_id) is not None


async def select_members(
    session: AsyncSession,
    *,
    program_id: int,
    segment: str | None = None,
    group: SegmentGroup | None = None,
    after: int | None = None,
    limit: int = 50,
) -> MemberScoresPage:
    """Members of one RFM segment and/or group, in id order, ``limit`` (1 to 500) at a time
    after member id ``after``: how campaigns and notifications pick their audience."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(
            f"limit must be from 1 to {MAX_PAGE_SIZE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE_SIZE},
        )
    rows = await SegmentRepository(session).page(
        program_id, segment=segment, group=group, after=after, limit=limit + 1
    )
    items = [_scores(row) for row in rows[:limit]]
    has_more = len(rows) > limit
    return MemberScoresPage(items=items, next_after=items[-1].member_id if has_more else None)


async def rfm_overview(
    session: AsyncSession,
    *,
    program_key: str,
    program_id: int,
    program: Program,
    segment: str | None = None,
    group: SegmentGroup | None = None,
    after: int | None = None,
    limit: int = 50,
) -> RfmOverview:
    """Segment sizes and grid counts of the stored scores; with ``segment`` (a name of the
    program's map, else ``UnknownSegmentError``) or ``group``, one page of those members."""
    settings = settings_of(program)
    if segment is not None and segment not in settings.grid:
        known = ", ".join(settings.grid)
        raise UnknownSegmentError(
            f"no segment {segment!r}; known: {known}",
            field="segment",
            params={"segment": segment, "known": known},
        )
    repository = SegmentRepository(session)
    sizes = await repository.segment_counts(program_id)
    names = [*settings.grid, *sorted(set(sizes) - set(settings.grid))]
    cells = await repository.grid_counts(program_id)
    segment_of = settings.segment_of()
    page = None
    if segment is not None or group is not None:
        page = await select_members(
            session, program_id=program_id, segment=segment, group=group, after=after, limit=limit
        )
    return RfmOverview(
        program=program_key,
        members=sum(sizes.values()),
        computed_at=await repository.last_computed(program_id),
        segments=[SegmentSize(segment=name, members=sizes.get(name, 0)) for name in names],
        grid=[
            GridCell(
                recency_score=r,
                frequency_score=f,
                segment=segment_of[(r, f)],
                members=cells.get((r, f), 0),
            )
            for r in range(5, 0, -1)
            for f in range(1, 6)
        ],
        groups=[
            GroupSize(group=group, members=n)
            for group, n in (await repository.group_counts(program_id)).items()
        ],
        page=page,
    )


async def search_members(
    session: AsyncSession,
    *,
    program_id: int,
    text: str,
    tier: str | None = None,
    segment: str | None = None,
    limit: int = 25,
    flagged: bool = False,
) -> list[Member]:
    """The console's member search (:func:`patron.members.search.search_members`), also by
    the RFM segment stored at the last refresh: a segment alone lists its members
    (``flagged``: only members with an open abuse flag; alone, all of them)."""
    within = None if segment is None else segment_member_ids(program_id, segment)
    return await search_all_members(
        session,
        program_id=program_id,
        text=text,
        tier=tier,
        limit=limit,
        within=within,
        flagged=flagged,
    )


def segment_names(program: Program) -> list[str]:
    """The RFM segments of the program's map, in its order (the names the console offers)."""
    return list(settings_of(program).grid)
