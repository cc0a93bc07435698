"""All queries of the members domain. Enrolment's inserts go straight to the driver
(:mod:`patron.kit.raw`): a shop enrols customers at the till, and the demo thousands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.raw import Sql, json_text, raw_of
from patron.members.models import (
    ConsentChannel,
    ConsentEvent,
    Member,
    MemberConsent,
    MemberStatus,
)

MEMBER_COLUMNS = (
    "program_id",
    "external_id",
    "name",
    "email",
    "phone",
    "birth_date",
    "language",
    "status",
    "blocked_reason",
    "referral_code",
    "tier_id",
    "tier_since",
    "tier_until",
    "enrolment_checksum",
    "enrolled_at",
    "updated_at",
    "attributes",  # JSON, last
)
_INSERT_MEMBER = Sql(
    f"INSERT INTO members ({', '.join(MEMBER_COLUMNS)}) VALUES ("
    + ", ".join(f"${n}" for n in range(1, len(MEMBER_COLUMNS) + 1))
    + ") ON CONFLICT DO NOTHING RETURNING id"
)
_STATE = "SELECT id, status, tier_id FROM members WHERE program_id = $1 AND "
_STATE_BY_ID = Sql(_STATE + "id = $2")
_STATE_BY_EXTERNAL_ID = Sql(_STATE + "external_id = $2")
_INSERT_CONSENT = Sql(
    "INSERT INTO member_consents (member_id, channel, is_granted, granted_at, revoked_at, source)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
_INSERT_CONSENT_EVENT = Sql(
    "INSERT INTO consent_events (member_id, channel, is_granted, source, occurred_at)"
    " VALUES ($1, $2, $3, $4, $5)"
)


def _without_yo(text: str) -> str:
    return text.replace("ё", "е").replace("Ё", "Е")


def _column_without_yo(column: Any) -> Any:
    """``column`` with ``ё`` and ``Ё`` read as ``е`` and ``Е`` (SQL ``replace``, both dialects)."""
    return func.replace(func.replace(column, "ё", "е"), "Ё", "Е")


def _contains(text: str) -> str:
    """A LIKE pattern for "contains ``text``": its wildcards and the escape character
    (``\\``) escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, member_id: int, *, for_update: bool = False) -> Member | None:
        """``for_update`` is :func:`lock_member_for_update`: it serialises changes to one
        member on PostgreSQL (SQLite writers are serialised by ``BEGIN IMMEDIATE``)."""
        query = select(Member).where(Member.id == member_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def lock_member_for_update(self, member_id: int) -> Member | None:
        return await self.get(member_id, for_update=True)

    async def state(
        self, program_id: int, member_id: int | None, external_id: str | None
    ) -> tuple[int, MemberStatus, str | None] | None:
        """``(id, status, tier_id)`` of one member of the program: the hot path's lookup."""
        raw = await raw_of(self.session)
        if member_id is not None:
            row = await raw.one(_STATE_BY_ID, program_id, member_id)
        else:
            row = await raw.one(_STATE_BY_EXTERNAL_ID, program_id, external_id)
        return None if row is None else (row[0], MemberStatus(row[1]), row[2])

    async def get_by_external_id(self, program_id: int, external_id: str) -> Member | None:
        query = select(Member).where(
            Member.program_id == program_id, Member.external_id == external_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def by_phone(self, program_id: int, phone: str, *, most: int = 2) -> list[Member]:
        """Up to ``most`` members of the program with ``phone`` (E.164), in id order."""
        query = (
            select(Member)
            .where(Member.program_id == program_id, Member.phone == phone)
            .order_by(Member.id)
            .limit(most)
        )
        return list((await self.session.execute(query)).scalars())

    async def insert(self, values: dict[str, Any]) -> int | None:
        """Insert a member (``values`` keyed by :data:`MEMBER_COLUMNS`); its id, or ``None``
        without writing when a unique key (external id or referral code) is taken."""
        parameters = [values[name] for name in MEMBER_COLUMNS[:-1]]
        raw = await raw_of(self.session)
        row = await raw.one(_INSERT_MEMBER, *parameters, json_text(values["attributes"]))
        return None if row is None else int(row[0])

    async def insert_consents(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Current consents and their first events: rows of (member id, channel, is granted,
        granted at, revoked at, source, occurred at)."""
        if rows:
            raw = await raw_of(self.session)
            await raw.many(_INSERT_CONSENT, [row[:6] for row in rows])
            await raw.many(_INSERT_CONSENT_EVENT, [(*row[:3], row[5], row[6]) for row in rows])

    async def consents(self, member_ids: Sequence[int]) -> dict[int, list[MemberConsent]]:
        """Consents of several members in one query, each list in channel order."""
        found: dict[int, list[MemberConsent]] = {member_id: [] for member_id in member_ids}
        if not member_ids:
            return found
        query = (
            select(MemberConsent)
            .where(MemberConsent.member_id.in_(member_ids))
            .order_by(MemberConsent.member_id, MemberConsent.channel)
        )
        for consent in (await self.session.execute(query)).scalars():
            found[consent.member_id].append(consent)
        return found

    async def get_consent(self, member_id: int, channel: ConsentChannel) -> MemberConsent | None:
        query = select(MemberConsent).where(
            MemberConsent.member_id == member_id, MemberConsent.channel == channel
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def add_consent(self, consent: MemberConsent, event: ConsentEvent) -> None:
        self.session.add_all([consent, event])
        await self.session.flush()

    async def add_event(self, event: ConsentEvent) -> None:
        self.session.add(event)
        await self.session.flush()

    async def consent_events(self, member_id: int) -> list[ConsentEvent]:
        query = (
            select(ConsentEvent)
            .where(ConsentEvent.member_id == member_id)
            .order_by(ConsentEvent.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def page(
        self,
        program_id: int,
        *,
        after: int | None,
        limit: int,
        status: MemberStatus | None,
        flagged: bool | None = None,
    ) -> list[Member]:
        """Up to ``limit`` members with ``id > after``, in id order (keyset pagination);
        ``flagged``: only those with (``True``) or without (``False``) an open abuse flag."""
        query = select(Member).where(Member.program_id == program_id)
        if after is not None:
            query = query.where(Member.id > after)
        if status is not None:
            query = query.where(Member.status == status)
        if flagged is not None:
            flag = Member.flagged_at
            query = query.where(flag.is_not(None) if flagged else flag.is_(None))
        query = query.order_by(Member.id).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def search(
        self,
        program_id: int,
        *,
        words: str,
        digits: str | None,
        tier: str | None,
        limit: int,
        within: Select[Any] | None = None,
        flagged: bool = False,
    ) -> list[Member]:
        """Members (of ``tier``, and among the ids ``within`` selects, when given) whose name
        or email contains ``words`` in any case, whose external id is ``words``, or whose
        phone contains ``digits``; newest first; ``flagged``: only those with an open abuse
        flag. No ``words``: every member of ``tier`` (or ``within``, or flagged). SQLite's
        ``lower()`` folds ASCII letters only, so the text is also tried as typed, in lower and
        upper case and capitalised (``ИВАН`` finds ``Иван``). ``ё`` and ``е`` are one letter on
        both sides (``Семен`` finds ``Семён``): Russian is mostly typed without ``ё``."""
        query = select(Member).where(Member.program_id == program_id)
        if tier is not None:
            query = query.where(Member.tier_id == tier)
        if within is not None:
            query = query.where(Member.id.in_(within))
        if flagged:
            query = query.where(Member.flagged_at.is_not(None))
        if words:
            folded = _without_yo(words)
            variants = {folded, folded.lower(), folded.upper(), folded.title(), folded.capitalize()}
            found = [Member.external_id == words]
            for column in (_column_without_yo(Member.name), _column_without_yo(Member.email)):
                found.append(func.lower(column).like(_contains(folded.lower()), escape="\\"))
                found.extend(column.like(_contains(variant), escape="\\") for variant in variants)
            if digits:
                found.append(Member.phone.like("%" + digits + "%"))
            query = query.where(or_(*found))
        query = query.order_by(Member.id.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def flush(self) -> None:
        await self.session.flush()
