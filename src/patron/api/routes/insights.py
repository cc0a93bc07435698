"""Insights: the RFM segments of the program and one member's scores (admin and staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from patron.api.deps import ReadSession, Staff
from patron.api.paging import PageCursor
from patron.api.params import PathId
from patron.api.responses import raises
from patron.kit.strict import DIGITS
from patron.members.errors import MemberNotFoundError
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.segments import service as segment_service
from patron.segments.errors import UnknownSegmentError
from patron.segments.schemas import MemberInsights, MemberScoresPage, RfmOverview, SegmentGroup

router = APIRouter(tags=["insights"])


@router.get("/analytics/rfm", response_model=RfmOverview)
@raises(ProgramNotFoundError, UnknownSegmentError)
async def rfm_segments(
    session: ReadSession,
    _: Staff,
    segment: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    group: SegmentGroup | None = None,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1), DIGITS] = None,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 50,
) -> RfmOverview:
    """Members per RFM segment, per (R, F) cell and per group, as of the last refresh
    (``patron jobs run``). With ``segment`` (a name of the program's map; another name is 422
    ``unknown_segment``) and/or ``group``, ``page`` lists those members in id order: pass
    ``page.next_after`` back as ``after`` for the next page."""
    active = await get_active_program(session)
    return await segment_service.rfm_overview(
        session,
        program_key=active.key,
        program_id=active.program_id,
        program=active.program,
        segment=segment,
        group=group,
        after=MemberScoresPage.resume(cursor, after),
        limit=limit,
    )


@router.get("/members/{member_id}/insights", response_model=MemberInsights)
@raises(MemberNotFoundError)
async def member_insights(member_id: PathId, session: ReadSession, _: Staff) -> MemberInsights:
    """The member's RFM segment and scores, groups, P(alive), expected purchases, CLV and
    churn flag from the last refresh. A member without purchases then answers ``scored:
    false``; an unknown member is 404 ``member_not_found``."""
    return await segment_service.member_insights(session, member_id=member_id)
