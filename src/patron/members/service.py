"""Member use cases: enrol, read, update, consents, block.

Services take the caller's session and never commit. Every change to an existing member locks
its row first, so that concurrent changes to one member apply one after the other.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit import ids
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.members import models, schemas
from patron.members.errors import (
    MemberBlockedError,
    MemberErasedError,
    MemberNotFoundError,
    PhoneNotUniqueError,
)
from patron.members.events import MemberEnrolled, MemberUpdated
from patron.members.repository import MemberRepository

REFERRAL_CODE_LENGTH = 8
_REFERRAL_CODE_ATTEMPTS = 5
ENROLMENT_SOURCE = "enrolment"
MAX_PAGE_SIZE = 500


def enrolment_checksum(data: schemas.MemberCreate) -> str:
    """SHA-256 of the normalised enrolment body (defaults filled in, keys sorted), so that
    ``{"external_id": "a"}`` and ``{"external_id": "a", "attributes": {}}`` are one body."""
    body = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


async def enrol_member(
    session: AsyncSession, *, program_id: int, data: schemas.MemberCreate, now: datetime
) -> schemas.Member:
    """Enrol a customer, idempotently by ``external_id`` within the program.

    The same body again (a retry) returns the member enrolled the first time, as it is now;
    a different body with the same ``external_id`` raises ``IdempotencyConflictError``.
    Two enrolments racing on one ``external_id`` end the same way: the unique constraint
    decides the winner and the loser compares bodies. The referral code is drawn from
    :func:`patron.kit.ids.random_code`; a (rare) collision draws again. The member's points
    account is opened in the same unit of work.
    """
    repository = MemberRepository(session)
    digest = enrolment_checksum(data)
    for _attempt in range(_REFERRAL_CODE_ATTEMPTS):
        values = _new_member(program_id, data, digest, now)
        member_id = await repository.insert(values)
        if member_id is not None:
            await ledger_service.create_account(session, member_id=member_id, now=now)
            enrolled = await _with_consents(repository, member_id, values, data, now)
            await emit_enrolled(session, program_id, enrolled, imported=False)
            return enrolled
        existing = await repository.get_by_external_id(program_id, data.external_id)
        if existing is not None:
            return await _replayed(repository, existing, digest)
        # otherwise the referral code was taken: draw another
    raise RuntimeError(f"no free referral code after {_REFERRAL_CODE_ATTEMPTS} attempts")


def _new_member(
    program_id: int, data: schemas.MemberCreate, digest: str, now: datetime
) -> dict[str, Any]:
    return {
        "program_id": program_id,
        "external_id": data.external_id,
        "name": data.name,
        "email": data.email,
        "phone": data.phone,
        "birth_date": data.birth_date,
        "language": data.language,
        "attributes": dict(data.attributes),
        "status": models.MemberStatus.ACTIVE,
        "blocked_reason": None,
        "referral_code": ids.random_code(REFERRAL_CODE_LENGTH),
        "tier_id": None,
        "tier_since": None,
        "tier_until": None,
        "enrolment_checksum": digest,
        "enrolled_at": now,
        "updated_at": now,
    }


async def _replayed(
    repository: MemberRepository, member: models.Member, digest: str
) -> schemas.Member:
    if member.enrolment_checksum != digest:
        raise IdempotencyConflictError(
            f"a member with external_id {member.external_id!r} was enrolled with other data",
            field="external_id",
            params={"external_id": member.external_id},
        )
    return await read_member(repository, member)


async def _with_consents(
    repository: MemberRepository,
    member_id: int,
    values: dict[str, Any],
    data: schemas.MemberCreate,
    now: datetime,
) -> schemas.Member:
    consents = [
        schemas.Consent(
            channel=channel,
            is_granted=is_granted,
            granted_at=now if is_granted else None,
            revoked_at=None if is_granted else now,
            source=ENROLMENT_SOURCE,
        )
        for channel, is_granted in sorted(data.consents.items())
    ]
    await repository.insert_consents(
        [
            (member_id, c.channel, c.is_granted, c.granted_at, c.revoked_at, c.source, now)
            for c in consents
        ]
    )
    fields = {name: value for name, value in values.items() if name != "enrolment_checksum"}
    return schemas.Member(id=member_id, consents=consents, **fields)


def _consent_rows(
    member_id: int,
    channel: models.ConsentChannel,
    is_granted: bool,
    source: str,
    now: datetime,
) -> tuple[models.MemberConsent, models.ConsentEvent]:
    consent = models.MemberConsent(
        member_id=member_id,
        channel=channel,
        is_granted=is_granted,
        granted_at=now if is_granted else None,
        revoked_at=None if is_granted else now,
        source=source,
    )
    event = models.ConsentEvent(
        member_id=member_id, channel=channel, is_granted=is_granted, source=source, occurred_at=now
    )
    return consent, event


def to_schema(member: models.Member, consents: list[models.MemberConsent]) -> schemas.Member:
    columns = {column.key: getattr(member, column.key) for column in models.Member.__table__.c}
    listed = [schemas.Consent.model_validate(consent) for consent in consents]
    return schemas.Member.model_validate({**columns, "consents": listed})


async def read_member(repository: MemberRepository, member: models.Member) -> schemas.Member:
    consents = await repository.consents([member.id])
    return to_schema(member, consents[member.id])


async def _require(
    repository: MemberRepository, member_id: int, *, for_update: bool = False
) -> models.Member:
    member = await repository.get(member_id, for_update=for_update)
    if member is None:
        raise MemberNotFoundError(
            f"member {member_id} does not exist",
            field="member_id",
            params={"member_id": member_id},
        )
    return member


async def require_changeable(repository: MemberRepository, member_id: int) -> models.Member:
    """The member, locked for a change; ``MemberErasedError`` when its data was erased (a
    pseudonym takes no new personal data, consents or status)."""
    member = await _require(repository, member_id, for_update=True)
    if member.erased_at is not None:
        raise MemberErasedError(
            f"member {member_id} was erased", field="member_id", params={"member_id": member_id}
        )
    return member


async def get_member(session: AsyncSession, *, member_id: int) -> schemas.Member:
    repository = MemberRepository(session)
    return await read_member(repository, await _require(repository, member_id))


async def get_member_by_external_id(
    session: AsyncSession, *, program_id: int, external_id: str
) -> schemas.Member:
    repository = MemberRepository(session)
    member = await repository.get_by_external_id(program_id, external_id)
    if member is None:
        raise MemberNotFoundError(
            f"no member with external_id {external_id!r}",
            field="external_id",
            params={"external_id": external_id},
        )
    return await read_member(repository, member)


async def get_member_by_phone(
    session: AsyncSession, *, program_id: int, phone: str
) -> schemas.Member:
    """The one member of the program with ``phone`` (E.164): 404 when none has it, 409
    ``phone_not_unique`` when several share it (a till must then ask for the card)."""
    repository = MemberRepository(session)
    found = await repository.by_phone(program_id, phone)
    if not found:
        raise MemberNotFoundError("no member with this phone number", field="phone")
    if len(found) > 1:
        raise PhoneNotUniqueError(
            "several members share this phone number: identify the member by card", field="phone"
        )
    return await read_member(repository, found[0])


async def get_member_state(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int | None = None,
    external_id: str | None = None,
) -> schemas.MemberState:
    """Id, status and tier of a member by id or by external id, in one small query."""
    found = await MemberRepository(session).state(program_id, member_id, external_id)
    if found is None:
        if member_id is not None:
            raise MemberNotFoundError(
                f"member {member_id} does not exist",
                field="member_id",
                params={"member_id": member_id},
            )
        raise MemberNotFoundError(
            f"no member with external_id {external_id!r}",
            field="external_id",
            params={"external_id": external_id},
        )
    return schemas.MemberState(*found)


async def emit_enrolled(
    session: AsyncSession, program_id: int, member: schemas.Member, *, imported: bool
) -> None:
    """``members.enrolled`` for a member just enrolled (or imported)."""
    language = member.language.value if member.language is not None else None
    event = MemberEnrolled(
        member_id=member.id,
        external_id=member.external_id,
        language=language,
        imported=imported,
        enrolled_at=member.enrolled_at,
    )
    await emit(session, event, program_id=program_id, occurred_at=member.enrolled_at)


def ensure_active(member: schemas.Member | schemas.MemberState) -> None:
    """Raise ``MemberBlockedError`` when the member is blocked."""
    if not member.is_active:
        raise MemberBlockedError(
            f"member {member.id} is blocked",
            field="member_id",
            params={"member_id": member.id},
        )


async def update_member(
    session: AsyncSession, *, member_id: int, data: schemas.MemberUpdate, now: datetime
) -> schemas.Member:
    """Change the fields present in ``data`` (``null`` clears one; ``attributes`` replaces
    the whole set). Blocked members can be updated too: support fixes their data."""
    repository = MemberRepository(session)
    member = await require_changeable(repository, member_id)
    changes = data.model_dump(include=data.model_fields_set)
    if "attributes" in changes:
        changes["attributes"] = dict(changes["attributes"] or {})
    changed: list[str] = []
    for field, value in changes.items():
        if getattr(member, field) != value:
            setattr(member, field, value)
            changed.append(field)
    if changed:
        member.updated_at = now
        if "birth_date" in changed:
            member.birth_date_changed_at = now
        await repository.flush()
        updated = MemberUpdated(member_id=member.id, fields=sorted(changed))
        await emit(session, updated, program_id=member.program_id, occurred_at=now)
    return await read_member(repository, member)


async def set_consent(
    session: AsyncSession,
    *,
    member_id: int,
    channel: models.ConsentChannel,
    is_granted: bool,
    source: str,
    now: datetime,
) -> schemas.Consent:
    """Grant or revoke contact on one channel. A change is kept in ``consent_events``;
    setting the state the channel already has changes nothing and records nothing."""
    if not source or len(source) > 64:
        raise InvalidInputError(
            "source must be 1 to 64 characters",
            field="source",
            params={"min_length": 1, "max_length": 64},
        )
    repository = MemberRepository(session)
    await require_changeable(repository, member_id)
    consent = await repository.get_consent(member_id, channel)
    if consent is None:
        consent, event = _consent_rows(member_id, channel, is_granted, source, now)
        await repository.add_consent(consent, event)
        return schemas.Consent.model_validate(consent)
    if consent.is_granted != is_granted:
        consent.is_granted = is_granted
        consent.source = source
        if is_granted:
            consent.granted_at = now
        else:
            consent.revoked_at = now
        await repository.add_event(
            models.ConsentEvent(
                member_id=member_id,
                channel=channel,
                is_granted=is_granted,
                source=source,
                occurred_at=now,
            )
        )
    return schemas.Consent.model_validate(consent)


async def list_members(
    session: AsyncSession,
    *,
    program_id: int,
    after: int | None = None,
    limit: int = 50,
    status: models.MemberStatus | None = None,
    flagged: bool | None = None,
) -> schemas.MemberPage:
    """Members in id order, ``limit`` at a time (1 to 500), after member id ``after``
    (``flagged``: only those with, or without, an open abuse flag)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(
            f"limit must be from 1 to {MAX_PAGE_SIZE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE_SIZE},
        )
    repository = MemberRepository(session)
    rows = await repository.page(
        program_id, after=after, limit=limit + 1, status=status, flagged=flagged
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    consents = await repository.consents([member.id for member in rows])
    items = [to_schema(member, consents[member.id]) for member in rows]
    return schemas.MemberPage(items=items, next_after=rows[-1].id if has_more else None)


async def consent_history(session: AsyncSession, *, member_id: int) -> list[schemas.ConsentChange]:
    """Every grant and revocation of the member, oldest first."""
    repository = MemberRepository(session)
    await _require(repository, member_id)
    events = await repository.consent_events(member_id)
    return [schemas.ConsentChange.model_validate(event) for event in events]
