"""``/referrals``: referrals of the active program, the review of flagged ones (admin,
audited) and the funnel's KPIs. A member's code and link: ``GET /members/{id}/referral``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from patron.api.deps import Admin, Now, ReadSession, Staff, WriteSession
from patron.api.paging import PageCursor
from patron.api.params import PathId
from patron.api.responses import raises
from patron.kit.strict import DIGITS
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.referrals import service as referral_service
from patron.referrals.errors import ReferralNotFlaggedError, ReferralNotFoundError
from patron.referrals.models import ReferralStatus
from patron.referrals.schemas import Referral, ReferralKpis, ReferralPage

router = APIRouter(prefix="/referrals", tags=["referrals"])

ReferralId = PathId


@router.get("", response_model=ReferralPage)
@raises(ProgramNotFoundError)
async def list_referrals(
    session: ReadSession,
    _: Staff,
    status_: Annotated[ReferralStatus | None, Query(alias="status")] = None,
    member_id: Annotated[int | None, Query(gt=0, le=2**63 - 1), DIGITS] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1), DIGITS] = 0,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 100,
) -> ReferralPage:
    """Referrals in id order, by ``status`` (``flagged``: those held for review) and by
    member (as referrer or referee)."""
    active = await get_active_program(session)
    return await referral_service.list_referrals(
        session,
        program_id=active.program_id,
        status=status_,
        member_id=member_id,
        after=ReferralPage.resume(cursor, after or None) or 0,
        limit=limit,
    )


@router.get("/kpis", response_model=ReferralKpis)
@raises(ProgramNotFoundError)
async def referral_kpis(session: ReadSession, _: Staff) -> ReferralKpis:
    """The funnel (enrolled, qualified, rewarded, flagged, rejected) and the cost per
    acquired member in points."""
    active = await get_active_program(session)
    return await referral_service.kpis(session, program_id=active.program_id)


@router.post("/{referral_id}/approve", response_model=Referral)
@raises(ProgramNotFoundError, ReferralNotFoundError, ReferralNotFlaggedError)
async def approve(referral_id: ReferralId, session: WriteSession, _: Admin, now: Now) -> Referral:
    """Approve a flagged referral: it goes on as ``pending`` and is paid like any other once
    it qualifies (one flagged after it was paid goes back to ``rewarded`` and keeps its
    reward). Not flagged: 409 ``referral_not_flagged``."""
    active = await get_active_program(session)
    return await referral_service.review(
        session, active=active, referral_id=referral_id, approve=True, now=now
    )


@router.post("/{referral_id}/reject", response_model=Referral)
@raises(ProgramNotFoundError, ReferralNotFoundError, ReferralNotFlaggedError)
async def reject(referral_id: ReferralId, session: WriteSession, _: Admin, now: Now) -> Referral:
    """Reject a flagged referral: it is never paid (one flagged after it was paid is clawed
    back: its points and unused coupons are taken back)."""
    active = await get_active_program(session)
    return await referral_service.review(
        session, active=active, referral_id=referral_id, approve=False, now=now
    )
