"""Referral use cases: check a code, record a referral at enrolment with its abuse checks,
review flagged referrals, read them and their KPIs. Never commits.

At enrolment (``POST /members`` with ``referral_code``) the route first finds the referrer
(:func:`find_referrer`: an unknown code is ``referral_code_unknown`` before anything is
written), enrols the member, then :func:`attach` records the referral in the same unit of
work. :func:`attach` locks the referrer's account first, so two enrolments with one code
count each other in the velocity check. The checks (any failing one flags the referral,
which is then held for an admin's review and never paid until approved):

* ``self_referral``: the referee is the referrer, or has the referrer's email, phone, or a
  device or payment fingerprint the referrer gave (at enrolment or with a purchase; a
  purchase's fingerprints are checked by :func:`check_purchase_fingerprints`, and flag an
  open referral then, or a paid one, which is then held for review: an admin who rejects it
  takes its reward back, :mod:`patron.referrals.clawback`);
* ``velocity``: the referrer already made ``referrals.max_per_day`` referrals in the last 24
  hours;
* ``referee_not_new``: the enrolment was a replay of an existing member's, another member has
  the referee's email or phone, or the referee already made purchases.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.members.models import Member
from patron.programs.referral_settings import Referrals
from patron.programs.schemas import ActiveProgram
from patron.referrals import schemas
from patron.referrals.clawback import REJECTED as CLAWBACK_REJECTED
from patron.referrals.clawback import claw_back
from patron.referrals.errors import (
    ReferralCodeUnknownError,
    ReferralNotFlaggedError,
    ReferralNotFoundError,
)
from patron.referrals.events import ReferralCreated, ReferralFlagged
from patron.referrals.models import FingerprintKind, Referral, ReferralStatus
from patron.referrals.repository import ReferralRepository

SELF_REFERRAL = "self_referral"
VELOCITY = "velocity"
NOT_NEW = "referee_not_new"
APPROVED = "approved"
REJECTED = "rejected"
MAX_PAGE_SIZE = 500
PUBLIC_URL_ENV = "PATRON_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def settings_of(active: ActiveProgram) -> Referrals:
    return active.program.referrals or Referrals()


def normalise_code(code: str) -> str:
    return code.strip().upper()


def link_for(active: ActiveProgram, code: str) -> str:
    """The member's referral link: the program's ``referrals.link`` with ``{code}``, else
    ``$PATRON_PUBLIC_URL/join?ref=<code>``."""
    template = settings_of(active).link
    if template is None:
        base = os.environ.get(PUBLIC_URL_ENV, DEFAULT_PUBLIC_URL).rstrip("/")
        template = base + "/join?ref={code}"
    return template.replace("{code}", code)


def digest(kind: FingerprintKind, value: str) -> str:
    return hashlib.sha256(f"{kind.value}:{value}".encode()).hexdigest()


def fingerprints(data: schemas.EnrolmentReferral) -> list[tuple[FingerprintKind, str]]:
    given = (
        (FingerprintKind.DEVICE, data.device_fingerprint),
        (FingerprintKind.PAYMENT, data.payment_fingerprint),
    )
    return [(kind, digest(kind, value)) for kind, value in given if value is not None]


async def find_referrer(session: AsyncSession, *, program_id: int, code: str) -> Member:
    """The member whose code this is; ``referral_code_unknown`` when no active member of the
    program has it."""
    referrer = await ReferralRepository(session).referrer_by_code(program_id, normalise_code(code))
    if referrer is None:
        raise ReferralCodeUnknownError(
            "no member of the program has this referral code", field="referral_code"
        )
    return referrer


async def record_fingerprints(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int,
    data: schemas.EnrolmentReferral,
    now: datetime,
) -> None:
    """Store the SHA-256 of the fingerprints given (idempotent)."""
    await ReferralRepository(session).add_fingerprints(
        program_id, member_id, fingerprints(data), now
    )


async def check_purchase_fingerprints(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    data: schemas.EnrolmentReferral,
    now: datetime,
) -> list[int]:
    """Store the fingerprints a purchase of the member was made with (hashed, idempotent),
    then flag ``self_referral`` each referral of the member (as referee or referrer) that is
    open (``pending`` or ``qualified``) or already paid (``rewarded``), not approved by an
    admin, whose two sides now share a device or payment fingerprint: it is held for review
    (event ``referrals.flagged``, ``paid`` for one already rewarded: its reward stays until
    an admin decides, and a rejection takes it back). The ids of the referrals flagged
    now."""
    repository = ReferralRepository(session)
    await repository.add_fingerprints(active.program_id, member_id, fingerprints(data), now)
    flagged: list[int] = []
    for referral in await repository.open_of_member(member_id):
        if referral.review is not None or SELF_REFERRAL in referral.flags:
            continue
        shared = (await repository.digests(referral.referrer_id)) & (
            await repository.digests(referral.referee_id)
        )
        if not shared:
            continue
        referral.status = ReferralStatus.FLAGGED
        referral.flags = [*referral.flags, SELF_REFERRAL]
        referral.flagged_at = now
        await session.flush()
        event = ReferralFlagged(
            referral_id=referral.id,
            member_id=referral.referee_id,
            referrer_id=referral.referrer_id,
            flags=list(referral.flags),
            paid=referral.rewarded_at is not None,
        )
        await emit(session, event, program_id=active.program_id, occurred_at=now)
        flagged.append(referral.id)
    return flagged


async def _flags(
    repository: ReferralRepository,
    active: ActiveProgram,
    referrer: Member,
    referee: Member,
    *,
    replayed: bool,
    now: datetime,
) -> list[str]:
    flags: list[str] = []
    same_contact = (
        referrer.email is not None
        and referee.email is not None
        and referrer.email.lower() == referee.email.lower()
    ) or (referrer.phone is not None and referrer.phone == referee.phone)
    shared = (await repository.digests(referrer.id)) & (await repository.digests(referee.id))
    if referrer.id == referee.id or same_contact or shared:
        flags.append(SELF_REFERRAL)
    made = await repository.made_since(referrer.id, now - timedelta(days=1))
    if made >= settings_of(active).max_per_day:
        flags.append(VELOCITY)
    known = await repository.others_with_contact(
        active.program_id, referee.id, referee.email, referee.phone
    )
    if (
        replayed
        or (known and SELF_REFERRAL not in flags)
        or await repository.purchases_of(referee.id)
    ):
        flags.append(NOT_NEW)
    return flags


async def attach(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    referrer: Member,
    referee_id: int,
    replayed: bool,
    now: datetime,
) -> schemas.Referral:
    """Record that ``referee_id`` was referred by ``referrer`` (see the module docstring); the
    referee's referral made before is answered as it is (a retried enrolment)."""
    repository = ReferralRepository(session)
    await ledger_service.lock_account_for_update(session, referrer.id)
    existing = await repository.of_referee(referee_id)
    if existing is not None:
        return schemas.Referral.model_validate(existing)
    referee = await repository.member(referee_id)
    assert referee is not None
    flags = await _flags(repository, active, referrer, referee, replayed=replayed, now=now)
    referral = Referral(
        program_id=active.program_id,
        referrer_id=referrer.id,
        referee_id=referee_id,
        code=referrer.referral_code,
        status=ReferralStatus.FLAGGED if flags else ReferralStatus.PENDING,
        flags=flags,
        referrer_points=0,
        referee_points=0,
        cost_points=0,
        created_at=now,
        flagged_at=now if flags else None,
    )
    session.add(referral)
    await session.flush()
    program_id = active.program_id
    created = ReferralCreated(
        referral_id=referral.id,
        member_id=referee_id,
        referrer_id=referrer.id,
        status=referral.status.value,
    )
    await emit(session, created, program_id=program_id, occurred_at=now)
    if flags:
        flagged = ReferralFlagged(
            referral_id=referral.id, member_id=referee_id, referrer_id=referrer.id, flags=flags
        )
        await emit(session, flagged, program_id=program_id, occurred_at=now)
    return schemas.Referral.model_validate(referral)


async def review(
    session: AsyncSession, *, active: ActiveProgram, referral_id: int, approve: bool, now: datetime
) -> schemas.Referral:
    """An admin's decision on a flagged referral: approved, it goes on as ``pending`` (the
    daily job qualifies and pays it like any other, and checks it no more); rejected, it is
    never paid. A referral flagged after it was paid goes back to ``rewarded`` when approved,
    and rejected it is clawed back (its points and unused coupons taken back,
    :mod:`patron.referrals.clawback`). A referral that is not flagged is
    ``referral_not_flagged``."""
    program_id = active.program_id
    repository = ReferralRepository(session)
    referral = await repository.get(referral_id, lock=True)
    if referral is None or referral.program_id != program_id:
        raise ReferralNotFoundError(f"referral {referral_id} does not exist", field="referral_id")
    if referral.status is not ReferralStatus.FLAGGED:
        raise ReferralNotFlaggedError(
            f"referral {referral_id} is {referral.status.value}, not flagged",
            field="referral_id",
        )
    before = {"status": referral.status.value, "flags": list(referral.flags)}
    paid = referral.rewarded_at is not None
    if approve:
        referral.status = ReferralStatus.REWARDED if paid else ReferralStatus.PENDING
    else:
        referral.status = ReferralStatus.REJECTED
    referral.review = APPROVED if approve else REJECTED
    referral.reviewed_at = now
    await session.flush()
    if paid and not approve:
        await claw_back(
            session, active=active, referral_id=referral_id, now=now, reason=CLAWBACK_REJECTED
        )
    after: dict[str, object] = {"status": referral.status.value, "review": referral.review}
    if paid and not approve:
        after["clawed_back_points"] = referral.clawed_back_points
    audit_service.note(
        session, target=f"referral:{referral_id}", before=before, after=after, changed=True
    )
    return schemas.Referral.model_validate(referral)


async def list_referrals(
    session: AsyncSession,
    *,
    program_id: int,
    status: ReferralStatus | None = None,
    member_id: int | None = None,
    after: int = 0,
    limit: int = 100,
) -> schemas.ReferralPage:
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = await ReferralRepository(session).page(
        program_id, status=status, member_id=member_id, after=after, limit=limit + 1
    )
    items = [schemas.Referral.model_validate(row) for row in rows[:limit]]
    return schemas.ReferralPage(items=items, next_after=items[-1].id if len(rows) > limit else None)


async def kpis(session: AsyncSession, *, program_id: int) -> schemas.ReferralKpis:
    repository = ReferralRepository(session)
    counts = await repository.counts(program_id)
    qualified, given, clawed_back = await repository.totals(program_id)
    cost = given - clawed_back
    enrolled = sum(counts.values())
    rewarded = counts.get(ReferralStatus.REWARDED, 0)
    return schemas.ReferralKpis(
        enrolled=enrolled,
        pending=counts.get(ReferralStatus.PENDING, 0),
        qualified=qualified,
        rewarded=rewarded,
        flagged=counts.get(ReferralStatus.FLAGGED, 0),
        rejected=counts.get(ReferralStatus.REJECTED, 0),
        qualification_rate=round(qualified / enrolled, 4) if enrolled else None,
        cost_points=cost,
        cost_per_acquired_member=cost // rewarded if rewarded else None,
        invited=await repository.visits(program_id),
        clawed_back_points=clawed_back,
    )


async def member_referral(
    session: AsyncSession, *, active: ActiveProgram, member_id: int
) -> schemas.MemberReferral | None:
    """The member's code, link and referrals by status; ``None`` for no such member."""
    repository = ReferralRepository(session)
    member = await repository.member(member_id)
    if member is None or member.program_id != active.program_id:
        return None
    counts = await repository.counts(active.program_id, referrer_id=member_id)
    return schemas.MemberReferral(
        member_id=member_id,
        code=member.referral_code,
        link=link_for(active, member.referral_code),
        referrals={status.value: counts.get(status, 0) for status in ReferralStatus},
        points_earned=await repository.referrer_points(member_id),
        invited=await repository.visits(active.program_id, member_id),
    )


async def record_visit(
    session: AsyncSession, *, active: ActiveProgram, code: str, visitor_digest: str, now: datetime
) -> bool:
    """A visitor (``visitor_digest``: the SHA-256 of their cookie's random id) opened the
    referral link of ``code``: recorded once per member and visitor. ``False`` when no active
    member of the program has that code (nothing recorded)."""
    repository = ReferralRepository(session)
    referrer = await repository.referrer_by_code(active.program_id, normalise_code(code))
    if referrer is None:
        return False
    await repository.add_visit(active.program_id, referrer.id, visitor_digest, now)
    return True
