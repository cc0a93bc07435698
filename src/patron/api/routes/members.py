"""``/members``: enrol, read (with tier and points), update, consents, ledger, tier history,
and the member's personal data: export and erasure."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from patron.api.deps import Admin, Now, Pos, Reader, ReadSession, Staff, WriteSession
from patron.api.member_view import shown_to
from patron.api.paging import PageCursor
from patron.api.params import PathId
from patron.api.responses import raises
from patron.api.till_identity import TillIdentityDep
from patron.audit import service as audit_service
from patron.challenges import service as challenge_service
from patron.challenges.schemas import MemberChallenges, MemberDetail
from patron.kit.errors import IdempotencyConflictError
from patron.kit.strict import DIGITS
from patron.ledger import service as ledger_service
from patron.ledger.schemas import EntryPage
from patron.members import blocking, card, flags
from patron.members import service as member_service
from patron.members.errors import (
    BirthDateInFutureError,
    MemberErasedError,
    MemberNotFoundError,
    MemberTokenInvalidError,
    PhoneNotUniqueError,
)
from patron.members.models import MemberStatus
from patron.members.overview import (
    MemberOverview,
    member_overview,
    member_overview_by_external_id,
    overview_of,
)
from patron.members.schemas import (
    PHONE_PATTERN,
    BlockRequest,
    ConsentUpdate,
    MemberPage,
    MemberUpdate,
    normalise_phone,
)
from patron.notifications import tokens
from patron.onboarding import service as import_service
from patron.onboarding.members import RowStatus
from patron.onboarding.schemas import MemberBatch, MemberBatchItem, MemberBatchResult
from patron.privacy import service as privacy_service
from patron.privacy.schemas import Erasure, MemberExport
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.referrals import service as referral_service
from patron.referrals.errors import ReferralCodeUnknownError
from patron.referrals.schemas import (
    Enrolment,
    MemberReferral,
)
from patron.tiers import service as tier_service
from patron.tiers.schemas import TierChangeRead

router = APIRouter(prefix="/members", tags=["members"])

MemberId = PathId


@router.post(
    "",
    response_model=MemberOverview,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": MemberOverview, "description": "The same enrolment sent again"}},
)
@raises(
    ProgramNotFoundError, IdempotencyConflictError, BirthDateInFutureError, ReferralCodeUnknownError
)
async def enrol(
    data: Enrolment, session: WriteSession, response: Response, caller: Pos, now: Now
) -> MemberOverview:
    """Enrol a customer (201). The same body again answers 200 with the member; a different
    body with the same ``external_id`` is 409 ``idempotency_conflict``. With a
    ``referral_code`` the referral is recorded in the same unit of work (and checked for
    abuse: a flagged referral is held for review)."""
    active = await get_active_program(session)
    referral = data.referral()
    referrer = None
    if referral.referral_code is not None:
        referrer = await referral_service.find_referrer(
            session, program_id=active.program_id, code=referral.referral_code
        )
    member = await member_service.enrol_member(
        session, program_id=active.program_id, data=data.member(), now=now
    )
    await referral_service.record_fingerprints(
        session, program_id=active.program_id, member_id=member.id, data=referral, now=now
    )
    if referrer is not None:
        await referral_service.attach(
            session,
            active=active,
            referrer=referrer,
            referee_id=member.id,
            replayed=member.enrolled_at != now,
            now=now,
        )
    if member.enrolled_at != now:
        response.status_code = status.HTTP_200_OK
    return await shown_to(session, caller, await overview_of(session, member, now=now))


@router.post("/batch", response_model=MemberBatchResult)
@raises(ProgramNotFoundError)
async def import_batch(
    batch: MemberBatch, session: WriteSession, _: Admin, now: Now
) -> MemberBatchResult:
    """Enrol or update up to 500 members with the columns of ``patron import members``
    (opening balances, carried-over tiers, consents, attributes). Each member answers with
    the status it would have had alone: ``new``, ``unchanged`` (the same member sent again),
    ``updated`` or ``refused`` with its errors; a refused member does not stop the others.
    ``dry_run`` writes nothing."""
    active = await get_active_program(session)
    answers = await import_service.import_batch(
        session,
        active=active,
        records=[member.model_dump(exclude_unset=True) for member in batch.members],
        now=now,
        dry_run=batch.dry_run,
    )
    items = [MemberBatchItem.model_validate(answer.to_dict()) for answer in answers]
    counts = Counter(item.status for item in items)
    return MemberBatchResult(
        items=items,
        **{status.value: counts[status] for status in RowStatus},
    )


@router.get("", response_model=MemberPage)
@raises(ProgramNotFoundError)
async def list_members(
    session: ReadSession,
    _: Staff,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1), DIGITS] = None,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 50,
    member_status: Annotated[MemberStatus | None, Query(alias="status")] = None,
    flagged: bool | None = None,
) -> MemberPage:
    """Members in id order; pass ``next_after`` back as ``after`` for the next page.
    ``flagged=true``: only members with an open abuse flag (``flagged_at``; docs/security.md,
    "Abuse controls"). Not for tills: a ``pos`` key finds one member by card
    (``external_id``) or phone."""
    active = await get_active_program(session)
    return await member_service.list_members(
        session,
        program_id=active.program_id,
        after=MemberPage.resume(cursor, after),
        limit=limit,
        status=member_status,
        flagged=flagged,
    )


@router.get("/by-external-id/{external_id}", response_model=MemberOverview)
@raises(ProgramNotFoundError, MemberNotFoundError)
async def read_by_external_id(
    external_id: Annotated[str, Path(min_length=1, max_length=128)],
    session: ReadSession,
    caller: Reader,
    now: Now,
) -> MemberOverview:
    """The member with the shop's own customer id (the card number at a till)."""
    active = await get_active_program(session)
    member = await member_overview_by_external_id(
        session, program_id=active.program_id, external_id=external_id, now=now
    )
    return await shown_to(session, caller, member)


@router.get("/by-phone/{phone}", response_model=MemberOverview)
@raises(ProgramNotFoundError, MemberNotFoundError, PhoneNotUniqueError)
async def read_by_phone(
    phone: Annotated[str, Path(max_length=40, pattern=PHONE_PATTERN)],
    session: ReadSession,
    caller: Reader,
    now: Now,
) -> MemberOverview:
    """The one member with this phone number, in international format (``+48601234567``);
    409 ``phone_not_unique`` when several members share it."""
    active = await get_active_program(session)
    member = await member_service.get_member_by_phone(
        session, program_id=active.program_id, phone=normalise_phone(phone)
    )
    return await shown_to(session, caller, await overview_of(session, member, now=now))


@router.get("/by-token/{token}", response_model=MemberOverview)
@raises(ProgramNotFoundError, MemberTokenInvalidError)
async def read_by_token(
    token: Annotated[str, Path(min_length=1, max_length=card.MAX_TOKEN)],
    session: ReadSession,
    caller: Reader,
    now: Now,
) -> MemberOverview:
    """The member whose card token this is (the QR code of the portal's card page, good for
    a few minutes); 422 ``member_token_invalid`` (field ``token``) for a forged, malformed or
    expired token."""
    active = await get_active_program(session)
    member = await card.member_of_token(
        session,
        await tokens.existing_key(session),
        token,
        program_id=active.program_id,
        now=now,
    )
    return await shown_to(session, caller, await overview_of(session, member, now=now))


@router.get("/{member_id}", response_model=MemberDetail)
@raises(MemberNotFoundError)
async def read_member(
    member_id: MemberId, session: ReadSession, caller: Reader, till: TillIdentityDep, now: Now
) -> MemberDetail:
    """The member with ``tier`` and ``points`` as of now, ``challenges`` and ``badges`` (a
    till sees no personal fields unless the program's ``access.pos_member_fields`` grants them,
    and names the member it identified: ``X-Patron-Member-Token``, ``-External-Id`` or
    ``-Phone``)."""
    await till.check(session, member_id, now=now)
    member = await member_overview(session, member_id=member_id, now=now)
    return await challenge_service.member_detail(
        session, await shown_to(session, caller, member), now
    )


@router.patch("/{member_id}", response_model=MemberOverview)
@raises(MemberNotFoundError, MemberErasedError, BirthDateInFutureError)
async def update_member(
    member_id: MemberId,
    data: MemberUpdate,
    session: WriteSession,
    caller: Pos,
    till: TillIdentityDep,
    now: Now,
) -> MemberOverview:
    """Change profile fields; only the fields present change, ``null`` clears one."""
    await till.check(session, member_id, now=now)
    member = await member_service.update_member(session, member_id=member_id, data=data, now=now)
    return await shown_to(session, caller, await overview_of(session, member, now=now))


@router.post("/{member_id}/consents", response_model=MemberOverview)
@raises(MemberNotFoundError, MemberErasedError)
async def set_consent(
    member_id: MemberId,
    data: ConsentUpdate,
    session: WriteSession,
    caller: Pos,
    till: TillIdentityDep,
    now: Now,
) -> MemberOverview:
    """Grant or revoke consent to be contacted on a channel (email, sms, push)."""
    await till.check(session, member_id, now=now)
    await member_service.set_consent(
        session,
        member_id=member_id,
        channel=data.channel,
        is_granted=data.is_granted,
        source=data.source,
        now=now,
    )
    member = await member_overview(session, member_id=member_id, now=now)
    return await shown_to(session, caller, member)


@router.post("/{member_id}/block", response_model=MemberOverview)
@raises(MemberNotFoundError, MemberErasedError)
async def block(
    member_id: MemberId, data: BlockRequest, session: WriteSession, _: Admin, now: Now
) -> MemberOverview:
    """Block the member: no earning or redeeming until unblocked."""
    member = await blocking.block_member(session, member_id=member_id, reason=data.reason, now=now)
    return await overview_of(session, member, now=now)


@router.post("/{member_id}/unblock", response_model=MemberOverview)
@raises(MemberNotFoundError, MemberErasedError)
async def unblock(member_id: MemberId, session: WriteSession, _: Admin, now: Now) -> MemberOverview:
    """Lift a block."""
    member = await blocking.unblock_member(session, member_id=member_id, now=now)
    return await overview_of(session, member, now=now)


@router.post("/{member_id}/unflag", response_model=MemberOverview)
@raises(MemberNotFoundError)
async def unflag(member_id: MemberId, session: WriteSession, _: Admin, now: Now) -> MemberOverview:
    """Clear the member's open abuse flags (docs/security.md, "Abuse controls"); the flags
    stay recorded. A block set with a flag stays until ``unblock``."""
    await flags.clear_flags(session, member_id=member_id, now=now)
    return await member_overview(session, member_id=member_id, now=now)


@router.get("/{member_id}/ledger", response_model=EntryPage)
@raises(MemberNotFoundError)
async def ledger(
    member_id: MemberId,
    session: ReadSession,
    _: Reader,
    till: TillIdentityDep,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 50,
    # the kit's cursor, or the last id in 1 to 18 digits as before (docs/api.md)
    cursor: PageCursor = None,
) -> EntryPage:
    """The member's ledger entries, newest first; pass ``next_cursor`` back as ``cursor``."""
    await till.check(session, member_id, now=now)
    await member_service.get_member(session, member_id=member_id)
    return await ledger_service.entries(session, member_id=member_id, limit=limit, cursor=cursor)


@router.get("/{member_id}/tier-history", response_model=list[TierChangeRead])
@raises(MemberNotFoundError)
async def tier_history(
    member_id: MemberId, session: ReadSession, _: Reader, till: TillIdentityDep, now: Now
) -> list[TierChangeRead]:
    """Every tier change of the member with its reason, oldest first."""
    await till.check(session, member_id, now=now)
    await member_service.get_member(session, member_id=member_id)
    changes = await tier_service.tier_history(session, member_id=member_id)
    return [
        TierChangeRead(
            from_tier=c.from_tier,
            to_tier=c.to_tier,
            reason=c.reason,
            metric=c.metric,
            occurred_at=c.occurred_at.isoformat(),
        )
        for c in changes
    ]


@router.get("/{member_id}/challenges", response_model=MemberChallenges)
@raises(MemberNotFoundError)
async def challenges(
    member_id: MemberId, session: ReadSession, _: Reader, till: TillIdentityDep, now: Now
) -> MemberChallenges:
    """The member's challenges and badges, and every challenge they completed."""
    await till.check(session, member_id, now=now)
    member = await member_service.get_member(session, member_id=member_id)
    current, badges = await challenge_service.member_progress(session, member, now)
    completions = await challenge_service.member_completions(session, member_id=member_id)
    return MemberChallenges(challenges=current, badges=badges, completions=completions)


@router.get("/{member_id}/referral", response_model=MemberReferral)
@raises(ProgramNotFoundError, MemberNotFoundError)
async def referral(
    member_id: MemberId, session: ReadSession, _: Reader, till: TillIdentityDep, now: Now
) -> MemberReferral:
    """The member's referral code and link (to share), and their referrals by status (a till:
    the member it identified)."""
    await till.check(session, member_id, now=now)
    active = await get_active_program(session)
    found = await referral_service.member_referral(session, active=active, member_id=member_id)
    if found is None:
        raise MemberNotFoundError(
            f"member {member_id} does not exist",
            field="member_id",
            params={"member_id": member_id},
        )
    return found


@router.get("/{member_id}/export", response_model=MemberExport)
@raises(MemberNotFoundError)
async def export(member_id: MemberId, session: WriteSession, _: Admin, now: Now) -> MemberExport:
    """Everything Patron holds about the member, as JSON (GDPR art. 15 and 20). Admin only;
    the export is itself recorded in the audit log (``members.export``)."""
    audit_service.note(session, changed=False)
    return await privacy_service.export_member(session, member_id=member_id, now=now)


@router.post("/{member_id}/erase", response_model=Erasure)
@raises(MemberNotFoundError)
async def erase(member_id: MemberId, session: WriteSession, _: Admin, now: Now) -> Erasure:
    """Erase the member's personal data and keep the member as a pseudonym, so that the
    ledger, the purchases and the KPIs stay whole (GDPR art. 17). Idempotent: a second call
    answers the same and changes nothing."""
    return await privacy_service.erase_member(session, member_id=member_id, now=now)
