"""Members in bulk: what one batch of checked rows does, for the file import and the API.

Each row is idempotent by ``external_id``. A member not yet in the program is ``new``: it is
enrolled (bulk inserts of members, accounts and consents), its opening balance is credited
as an ``opening`` entry with its own lot, and its carried-over tier is set with the reason
``imported``. A member whose stored import checksum equals the row's is ``unchanged`` and
nothing is written. Otherwise it is ``updated``: the profile and attributes are replaced,
consents that differ are changed (and recorded in the consent history), a different opening
balance is corrected by an ``adjust`` entry for the difference (history is never rewritten),
and a different tier is carried over again.

Services take the session and never commit: the caller's unit of work does. Each imported
member emits ``members.enrolled`` with ``imported: true``; an opening balance
``ledger.credited`` (kind ``opening``, source ``opening``; written with the batch's
``members.enrolled`` in one ``emit_many``), a correction ``ledger.credited`` or
``ledger.debited`` (kind ``adjust``, or ``opening`` for a first balance given by a later
import); a carried-over tier emits ``tiers.changed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit import ids
from patron.kit.outbox import emit, emit_many
from patron.kit.raw import json_text
from patron.ledger import service as ledger_service
from patron.ledger.events import LedgerCredited, LedgerDebited
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.members import service as member_service
from patron.members.events import MemberEnrolled
from patron.members.models import ConsentChannel, MemberStatus
from patron.members.repository import MemberRepository
from patron.onboarding.repository import ImportRepository
from patron.onboarding.rows import MemberRow
from patron.programs.expiry import expiry_for
from patron.programs.schemas import ActiveProgram
from patron.tiers import service as tier_service

IMPORT_SOURCE = "import"
_ACTIVE = MemberStatus.ACTIVE.value  # enums go to the driver as their values (kit/raw.py)
_INSERT_ATTEMPTS = 5


class RowStatus(StrEnum):
    NEW = "new"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Existing:
    member_id: int
    checksum: str
    tier: str | None
    tier_until: datetime | None


async def classify(
    session: AsyncSession, *, program_id: int, rows: Sequence[MemberRow]
) -> tuple[list[RowStatus], dict[str, Existing]]:
    """What each row would do (new, unchanged or updated), and the members that exist."""
    found = await ImportRepository(session).members(program_id, [row.external_id for row in rows])
    existing = {key: Existing(*values) for key, values in found.items()}
    statuses = []
    for row in rows:
        member = existing.get(row.external_id)
        if member is None:
            statuses.append(RowStatus.NEW)
        elif member.checksum == row.checksum:
            statuses.append(RowStatus.UNCHANGED)
        else:
            statuses.append(RowStatus.UPDATED)
    return statuses, existing


async def apply_rows(
    session: AsyncSession, *, active: ActiveProgram, rows: Sequence[MemberRow], now: datetime
) -> list[RowStatus]:
    """Write the rows (see the module docstring); their statuses in order. The rows must have
    distinct external ids."""
    statuses, existing = await classify(session, program_id=active.program_id, rows=rows)
    new = [row for row, status in zip(rows, statuses, strict=True) if status is RowStatus.NEW]
    await _enrol(session, active, new, now)
    for row, status in zip(rows, statuses, strict=True):
        if status is RowStatus.UPDATED:
            await _update(session, active, row, existing[row.external_id], now)
    return statuses


def _member_values(
    program_id: int, row: MemberRow, now: datetime, referral_code: str
) -> dict[str, Any]:
    return {
        "program_id": program_id,
        "external_id": row.external_id,
        "name": row.name,
        "email": row.email,
        "phone": row.phone,
        "birth_date": row.birth_date,
        "language": row.language,
        "attributes": row.attributes,
        "status": MemberStatus.ACTIVE,
        "blocked_reason": None,
        "referral_code": referral_code,
        "tier_id": None,
        "tier_since": None,
        "tier_until": None,
        "enrolment_checksum": row.checksum,
        "enrolled_at": row.enrolled_at or now,
        "updated_at": now,
    }


def _member_params(
    program_id: int, row: MemberRow, now: datetime, referral_code: str
) -> tuple[Any, ...]:
    """The insert's parameters: :func:`_member_values` in ``MEMBER_COLUMNS`` order, the
    attributes as JSON text (built straight, without the dict: a million rows)."""
    return (
        program_id,
        row.external_id,
        row.name,
        row.email,
        row.phone,
        row.birth_date,
        None if row.language is None else row.language.value,
        _ACTIVE,
        None,
        referral_code,
        None,
        None,
        None,
        row.checksum,
        row.enrolled_at or now,
        now,
        json_text(row.attributes),
    )


async def _insert(
    session: AsyncSession, program_id: int, rows: Sequence[MemberRow], now: datetime
) -> dict[str, int]:
    """Insert the members; ``external_id -> id``. A row left out because its referral code
    was taken (rare: codes are random) is inserted again with a new code."""
    repository = ImportRepository(session)
    wanted = {row.external_id: row for row in rows}
    found: dict[str, int] = {}
    for _attempt in range(_INSERT_ATTEMPTS):
        missing = [row for key, row in wanted.items() if key not in found]
        if not missing:
            return found
        codes = ids.random_codes(len(missing), member_service.REFERRAL_CODE_LENGTH)
        await repository.insert_members(
            [
                _member_params(program_id, row, now, code)
                for row, code in zip(missing, codes, strict=True)
            ]
        )
        inserted = await repository.members(program_id, [row.external_id for row in missing])
        found.update({key: int(values[0]) for key, values in inserted.items()})
    if len(found) < len(wanted):
        raise RuntimeError(f"no free referral code after {_INSERT_ATTEMPTS} attempts")
    return found


async def _enrol(
    session: AsyncSession, active: ActiveProgram, rows: Sequence[MemberRow], now: datetime
) -> None:
    if not rows:
        return
    member_ids = await _insert(session, active.program_id, rows, now)
    balances = [
        ledger_service.OpeningBalance(
            member_ids[row.external_id],
            row.opening_points,
            row.opening_points_expire_at or expiry_for(active.program, now),
            row.external_id,
        )
        for row in rows
        if row.opening_points > 0
    ]
    entry_ids = await ledger_service.open_accounts(
        session, member_ids=list(member_ids.values()), balances=balances, now=now
    )
    consents = [
        _consent_row(member_ids[row.external_id], row, channel, now)
        for row in rows
        for channel in sorted(row.consents)
    ]
    await MemberRepository(session).insert_consents(consents)
    # the payloads' values are already checked: built without validating them again (a
    # tenth of the import's CPU went to validating what the rows had just produced)
    enrolled = [
        MemberEnrolled.model_construct(
            member_id=member_ids[row.external_id],
            external_id=row.external_id,
            language=row.language.value if row.language is not None else None,
            imported=True,
            enrolled_at=row.enrolled_at or now,
        )
        for row in rows
    ]
    credited = [
        LedgerCredited.model_construct(
            member_id=balance.member_id,
            entry_id=entry_id,
            kind=EntryKind.OPENING.value,
            points=balance.amount,
            source=ledger_service.OPENING_SOURCE,
        )
        for balance, entry_id in zip(balances, entry_ids, strict=True)
    ]
    await emit_many(session, [*enrolled, *credited], program_id=active.program_id, occurred_at=now)
    tiers = [
        (member_ids[row.external_id], row.tier, row.tier_until)
        for row in rows
        if row.tier is not None
    ]
    await tier_service.carry_over_first_tiers(
        session, program_id=active.program_id, tiers=tiers, now=now
    )


def _consent_row(
    member_id: int, row: MemberRow, channel: ConsentChannel, now: datetime
) -> tuple[Any, ...]:
    """(member id, channel, is granted, granted at, revoked at, source, occurred at)."""
    consent = row.consents[channel]
    at = consent.at or row.enrolled_at or now
    granted_at, revoked_at = (at, None) if consent.is_granted else (None, at)
    return (
        member_id,
        channel.value,
        consent.is_granted,
        granted_at,
        revoked_at,
        IMPORT_SOURCE,
        at,
    )


async def _open_balance(
    session: AsyncSession,
    active: ActiveProgram,
    row: MemberRow,
    member_id: int,
    before: tuple[int, int],
    now: datetime,
) -> None:
    """Bring the member's opening balance from ``before`` (total, entries) to the row's: an
    ``opening`` entry and its lot when it had none, else an ``adjust`` entry for the
    difference. The key counts the entries before it: each correction is one entry, once."""
    total, count = before
    change = row.opening_points - total
    if change == 0:
        return
    key = ledger_service.opening_key(member_id, count)
    common: dict[str, Any] = {
        "member_id": member_id,
        "idempotency_key": key,
        "source_type": ledger_service.OPENING_SOURCE,
        "source_id": row.external_id,
        "now": now,
    }
    if change < 0:
        debited = await ledger_service.debit(
            session,
            amount=-change,
            kind=EntryKind.ADJUST,
            on_shortfall=ShortfallPolicy.DEBT,
            description="opening balance corrected by an import",
            **common,
        )
        event: LedgerCredited | LedgerDebited = LedgerDebited(
            member_id=member_id,
            entry_id=debited.id,
            kind=debited.kind.value,
            points=-debited.amount,
            source=ledger_service.OPENING_SOURCE,
        )
    else:
        expires_at = row.opening_points_expire_at or expiry_for(active.program, now)
        credited = await ledger_service.credit(
            session,
            amount=change,
            kind=EntryKind.OPENING if count == 0 else EntryKind.ADJUST,
            expires_at=expires_at,
            description=(
                "opening balance" if count == 0 else "opening balance corrected by an import"
            ),
            **common,
        )
        event = LedgerCredited(
            member_id=member_id,
            entry_id=credited.id,
            kind=credited.kind.value,
            points=credited.amount,
            source=ledger_service.OPENING_SOURCE,
        )
    await emit(session, event, program_id=active.program_id, occurred_at=now)


async def _update(
    session: AsyncSession, active: ActiveProgram, row: MemberRow, member: Existing, now: datetime
) -> None:
    values = _member_values(active.program_id, row, now, "")  # the code is kept
    await MemberRepository(session).lock_member_for_update(member.member_id)
    await ImportRepository(session).update_profile(member.member_id, values)
    current = {
        consent.channel: consent.is_granted
        for consent in (await MemberRepository(session).consents([member.member_id]))[
            member.member_id
        ]
    }
    for channel, consent in sorted(row.consents.items()):
        if current.get(channel) != consent.is_granted:
            await member_service.set_consent(
                session,
                member_id=member.member_id,
                channel=channel,
                is_granted=consent.is_granted,
                source=IMPORT_SOURCE,
                now=now,
            )
    before = await ledger_service.opening_total(session, member_id=member.member_id)
    await _open_balance(session, active, row, member.member_id, before, now)
    if row.tier is not None and (row.tier != member.tier or row.tier_until != member.tier_until):
        await tier_service.carry_over_tier(
            session,
            member_id=member.member_id,
            current_tier=member.tier,
            tier=row.tier,
            until=row.tier_until,
            now=now,
        )
