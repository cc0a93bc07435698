"""Every query of the message log."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback.models import Survey
from patron.kit.raw import Sql, raw_of
from patron.members.models import ConsentChannel
from patron.notifications.models import Message
from patron.notifications.schemas import MessageStatus

_COLUMNS = (
    "program_id",
    "member_id",
    "event_id",
    "kind",
    "channel",
    "status",
    "language",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "unsubscribe_url",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "updated_at",
    "dedupe_key",
)
_INSERT = Sql(
    f"INSERT INTO messages ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_COLUMNS) + 1))}) "
    "ON CONFLICT DO NOTHING RETURNING id"
)

# the reads a message handler makes for every message, as driver statements (through the ORM
# each cost more than the statement itself: docs/benchmarks.md, accrual, 2026-12-06)
# the member a message goes to, with the key of the program it is for ($2, or the member's)
# and the member's consent on channel $3 (NULL: none recorded, or no channel asked)
_RECIPIENT = Sql(
    "SELECT m.id, m.program_id, m.language, m.email, m.phone, m.name, m.referral_code, p.key, "
    "(SELECT c.is_granted FROM member_consents c WHERE c.member_id = m.id AND c.channel = $3) "
    "FROM members m LEFT JOIN programs p ON p.id = COALESCE($2, m.program_id) WHERE m.id = $1"
)
_KEYED = Sql("SELECT id FROM messages WHERE channel = $1 AND dedupe_key = $2 LIMIT 1")
_CONSENT = Sql("SELECT is_granted FROM member_consents WHERE member_id = $1 AND channel = $2")


@dataclass(frozen=True, slots=True)
class RecipientRow:
    """A member's contact columns as stored, with the key of the message's program."""

    id: int
    program_id: int
    language: str | None
    email: str | None
    phone: str | None
    name: str | None
    referral_code: str
    program_key: str | None
    consented: bool | None  # the consent on the channel asked for (None: none recorded)


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recipient(
        self, member_id: int, program_id: int | None, consent: ConsentChannel | None = None
    ) -> RecipientRow | None:
        """The member (``None``: no such member), the key of program ``program_id`` (of the
        member's program when ``None``; ``None`` when there is no such program) and the
        member's consent on ``consent``: one statement, as every message handler reads them
        for every message."""
        channel = None if consent is None else consent.value
        row = await (await raw_of(self.session)).one(_RECIPIENT, member_id, program_id, channel)
        if row is None:
            return None
        member_id, program, language, email, phone, name, code, key, consented = row
        given = None if consented is None else bool(consented)
        return RecipientRow(member_id, program, language, email, phone, name, code, key, given)

    async def has_consent(self, member_id: int, channel: ConsentChannel) -> bool:
        row = await (await raw_of(self.session)).one(_CONSENT, member_id, channel.value)
        return row is not None and bool(row[0])

    async def survey_name(self, program_id: int | None, key: str) -> str | None:
        query = select(Survey.name).where(Survey.key == key)
        if program_id is not None:
            query = query.where(Survey.program_id == program_id)
        return await self.session.scalar(query.limit(1))

    async def keyed(self, channel: str, dedupe_key: str) -> bool:
        return await (await raw_of(self.session)).one(_KEYED, channel, dedupe_key) is not None

    async def insert(self, values: dict[str, Any]) -> bool:
        """Insert one message (``values`` by column, :data:`_COLUMNS`); False when ``(kind,
        channel, event_id)`` or ``(channel, dedupe_key)`` is there already. A driver-level
        statement: the ORM's insert cost a message handler more than rendering it."""
        raw = await raw_of(self.session)
        inserted = await raw.one(_INSERT, *(values[column] for column in _COLUMNS))
        return inserted is not None

    async def page(
        self,
        *,
        member_id: int | None,
        status: str | None,
        kind: str | None,
        after: int | None,
        limit: int,
    ) -> list[Message]:
        query = select(Message).order_by(Message.id.desc()).limit(limit)
        if member_id is not None:
            query = query.where(Message.member_id == member_id)
        if status is not None:
            query = query.where(Message.status == status)
        if kind is not None:
            query = query.where(Message.kind == kind)
        if after is not None:
            query = query.where(Message.id < after)
        return list(await self.session.scalars(query))

    async def queued_channels(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Message.channel, func.count())
            .where(Message.status == MessageStatus.QUEUED)
            .group_by(Message.channel)
        )
        return {channel: count for channel, count in rows}

    async def due(
        self, channels: Collection[str], now: datetime, limit: int
    ) -> list[tuple[int, int, str]]:
        """``(id, attempts, channel)`` of queued messages on ``channels`` whose time has come."""
        rows = await self.session.execute(
            select(Message.id, Message.attempts, Message.channel)
            .where(
                Message.status == MessageStatus.QUEUED,
                Message.channel.in_(list(channels)),
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            )
            .order_by(Message.id)
            .limit(limit)
        )
        return [(id_, attempts, channel) for id_, attempts, channel in rows]

    async def claim(self, message_id: int, attempts: int, lease_until: datetime) -> Message | None:
        """Take a due message for one attempt: count the attempt and push its next attempt
        past the lease, if nobody took it first (the attempt count is the guard). A sender
        that dies mid-send leaves the message to be tried again after the lease."""
        result = await self.session.execute(
            update(Message)
            .where(
                Message.id == message_id,
                Message.status == MessageStatus.QUEUED,
                Message.attempts == attempts,
            )
            .values(attempts=attempts + 1, next_attempt_at=lease_until)
            .returning(Message.id)
        )
        if result.scalar_one_or_none() is None:
            return None
        return await self.session.get(Message, message_id, populate_existing=True)

    async def finish(self, message_id: int, **values: Any) -> None:
        await self.session.execute(update(Message).where(Message.id == message_id).values(**values))

    async def scrub_member(self, member_id: int, now: datetime) -> int:
        """Blank the personal data of a member's messages (erasure); queued ones are dropped."""
        await self.session.execute(
            update(Message)
            .where(Message.member_id == member_id, Message.status == MessageStatus.QUEUED)
            .values(status=MessageStatus.SKIPPED_NO_ADDRESS, last_error="member erased")
        )
        result = await self.session.execute(
            update(Message)
            .where(Message.member_id == member_id)
            .values(
                recipient=None,
                subject="(erased)",
                body_text="",
                body_html=None,
                unsubscribe_url=None,
                updated_at=now,
            )
            .returning(Message.id)
        )
        return len(result.all())
