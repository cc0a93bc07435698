"""Personal data: export everything held about a member, and erase the person's data.

Export (GDPR art. 15/20) reads every row that refers to the member (see
:mod:`patron.privacy.repository`). Erasure (GDPR art. 17, 152-FZ art. 21) keeps the member's
row as a pseudonym so that the ledger, the purchases and every KPI stay whole, and removes the
person from it and from every table that holds their words or contact details:

- the member: name, email, phone, birth date and attributes are cleared; ``external_id``
  becomes ``erased-<id>`` (a shop's own id may itself be a phone number or an email), the
  enrolment checksum (a hash of the enrolment body, personal data included) is replaced, the
  member is blocked (reason ``erased``) and ``erased_at`` is set;
- consents: granted channels are revoked (one ``consent_events`` row each) and every consent
  source becomes ``erased``;
- tickets: contact, subject and text; the bodies of their messages (staff replies quote the
  customer) and the member's name as a message author; the keywords of their analyses;
- reviews and their replies, survey answers: the free text and the keywords quoted from it;
- the member's events (``outbox_events``): the shop's ``external_id`` in their payloads becomes
  the pseudonym;
- returns' reasons and goodwill reasons (also in the goodwill ledger entry's description and
  ``meta``).

Sentiment labels, topics, scores, amounts and times stay: they are not the person's words, and
the feedback and sales KPIs are built from them. A later enrolment with the shop's old
``external_id`` is a new member. Erasure is idempotent: a second call changes nothing and
answers as the first did.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.kit.outbox import emit
from patron.members import portal as portal_service
from patron.members.errors import MemberNotFoundError
from patron.members.events import MemberErased
from patron.members.models import ConsentEvent, Member, MemberStatus
from patron.privacy.repository import PrivacyRepository
from patron.privacy.schemas import Erasure, MemberExport
from patron.support.goodwill import SOURCE_TYPE as GOODWILL_SOURCE

ERASED = "erased"


def pseudonym(member_id: int) -> str:
    """The ``external_id`` an erased member keeps."""
    return f"{ERASED}-{member_id}"


async def export_member(session: AsyncSession, *, member_id: int, now: datetime) -> MemberExport:
    """Every row Patron holds about the member; ``member_not_found`` when there is none."""
    repository = PrivacyRepository(session)
    profile = await repository.member_row(member_id)
    if profile is None:
        raise MemberNotFoundError(
            f"member {member_id} does not exist",
            field="member_id",
            params={"member_id": member_id},
        )
    sections = await repository.sections(member_id)
    return MemberExport(member_id=member_id, exported_at=now, profile=profile, **sections)


async def erase_member(session: AsyncSession, *, member_id: int, now: datetime) -> Erasure:
    """Erase the member's personal data (see the module docstring), under the member's row
    lock; a member erased before is answered as it is, and noted as no change for the audit
    log."""
    repository = PrivacyRepository(session)
    member = await repository.lock_member(member_id)
    if member is None:
        raise MemberNotFoundError(
            f"member {member_id} does not exist",
            field="member_id",
            params={"member_id": member_id},
        )
    audit_service.note(session, target=f"member:{member_id}", changed=member.erased_at is None)
    if member.erased_at is None:
        external_id = member.external_id
        await _erase_profile(repository, member, now)
        await repository.erase_event_payloads(member_id, external_id, member.external_id)
        await _erase_texts(repository, member_id)
        # the portal's login links and sessions end (only hashes: nothing to keep)
        await portal_service.end_sessions(session, member_id=member_id)
        # the device and payment fingerprints are the person's (hashes, kept for no check)
        await repository.delete_fingerprints(member_id)
        erased = MemberErased(member_id=member.id)
        await emit(session, erased, program_id=member.program_id, occurred_at=now)
    assert member.erased_at is not None
    return Erasure(
        member_id=member.id,
        external_id=member.external_id,
        status=ERASED,
        erased_at=member.erased_at,
    )


async def _erase_profile(repository: PrivacyRepository, member: Member, now: datetime) -> None:
    member.external_id = pseudonym(member.id)
    member.name = member.email = member.phone = None
    member.birth_date = None
    member.attributes = {}
    member.status = MemberStatus.BLOCKED
    member.blocked_reason = ERASED
    member.enrolment_checksum = hashlib.sha256(member.external_id.encode()).hexdigest()
    member.erased_at = member.updated_at = now
    granted = await repository.granted_consents(member.id)
    for consent in granted:
        consent.is_granted = False
        consent.revoked_at = now
    revocations = [
        ConsentEvent(
            member_id=member.id,
            channel=consent.channel,
            is_granted=False,
            source=ERASED,
            occurred_at=now,
        )
        for consent in granted
    ]
    await repository.add_all([member, *revocations])


async def _erase_texts(repository: PrivacyRepository, member_id: int) -> None:
    await repository.erase_texts(member_id, ERASED)
    for entry_id, meta in await repository.entries_with_meta(member_id, GOODWILL_SOURCE):
        meta.pop("reason", None)
        await repository.set_entry_text(entry_id, "", meta)
