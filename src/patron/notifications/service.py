"""Message use cases: queue a rendered message, read the log, unsubscribe. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import EventEnvelope
from patron.members import service as members_service
from patron.members.errors import MemberErasedError
from patron.members.models import ConsentChannel
from patron.notifications import tokens
from patron.notifications.channels import Channel, Contact
from patron.notifications.errors import UnsubscribeLinkInvalidError
from patron.notifications.render import language_of, render
from patron.notifications.repository import MessageRepository
from patron.notifications.schemas import (
    TRANSACTIONAL,
    MessageKind,
    MessagePage,
    MessageStatus,
    MessageView,
    Unsubscribed,
)
from patron.notifications.settings import public_url
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram

UNSUBSCRIBE_PATH = "/u/"
UNSUBSCRIBE_SOURCE = "unsubscribe_link"


@dataclass(frozen=True, slots=True)
class Recipient:
    """A member as a handler sees them: contact, language and program."""

    contact: Contact
    name: str | None
    referral_code: str
    program: ActiveProgram | None
    consent: tuple[ConsentChannel, bool] | None = None  # read with the member, when asked


async def recipient(
    session: AsyncSession,
    member_id: int,
    program_id: int | None,
    *,
    consent: ConsentChannel | None = None,
) -> Recipient | None:
    """The member (None: no such member) with the active program of ``program_id`` (read once
    a unit of work: a batch of messages shares it) and, when asked, their ``consent``."""
    member = await MessageRepository(session).recipient(member_id, program_id or None, consent)
    if member is None:
        return None
    key = member.program_key
    program = await _active_program(session, key) if key else None
    default = program.program.program.default_language.value if program else "en"
    language = language_of(member.language, default)
    contact = Contact(member.id, member.email, member.phone, language)
    given = None if consent is None else (consent, bool(member.consented))
    return Recipient(contact, member.name, member.referral_code, program, given)


_PROGRAMS = "patron.notifications.programs"


async def _active_program(session: AsyncSession, key: str) -> ActiveProgram:
    """The active program ``key``, read once a unit of work (a handler's batch of messages)."""
    programs: dict[str, ActiveProgram] = session.info.setdefault(_PROGRAMS, {})
    active = programs.get(key)
    if active is None:
        active = programs[key] = await program_service.get_active_program(session, key=key)
    return active


async def queue_message(
    session: AsyncSession,
    *,
    channel: Channel,
    kind: MessageKind,
    event: EventEnvelope,
    who: Recipient,
    values: dict[str, Any],
    now: datetime,
    dedupe_key: str | None = None,
) -> MessageStatus | None:
    """Render ``kind`` for ``who`` and put it in the log: queued, or skipped (no consent, no
    address) with the reason. Idempotent per (kind, channel, event), and per (channel,
    ``dedupe_key``) when given: None when the message was made already (the insert finds
    its ``(kind, channel, event)`` taken: a handler run again after a crash, rare enough not
    to pay a read on every message)."""
    repository = MessageRepository(session)
    if dedupe_key is not None and await repository.keyed(channel.name, dedupe_key):
        return None
    contact = who.contact
    key = await tokens.signing_key(session, now)
    unsubscribe = (
        public_url() + UNSUBSCRIBE_PATH + tokens.make_token(key, contact.member_id, channel.name)
    )
    document = who.program.program if who.program else None
    rendered = render(
        kind.value,
        contact.language,
        {
            "name": who.name,
            "program": document.program.name if document else "",
            "unsubscribe_url": unsubscribe,
            "public_url": public_url(),
            **values,
        },
        currency=document.program.currency if document else "EUR",
        timezone=document.program.timezone if document else "UTC",
    )
    address = channel.address(contact)
    status, reason = MessageStatus.QUEUED, None
    if address is None:
        status, reason = MessageStatus.SKIPPED_NO_ADDRESS, f"the member has no {channel.name}"
    elif kind not in TRANSACTIONAL and not await _consented(repository, who, channel):
        status = MessageStatus.SKIPPED_NO_CONSENT
        reason = f"no {channel.consent.value} consent when queued"
    inserted = await repository.insert(
        {
            "program_id": event.program_id,
            "member_id": contact.member_id,
            "event_id": event.id,
            "kind": kind.value,
            "channel": channel.name,
            "status": status.value,
            "language": contact.language,
            "recipient": address,
            "subject": rendered.subject[:300],
            "body_text": rendered.text,
            "body_html": rendered.html,
            "unsubscribe_url": unsubscribe,
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": reason,
            "created_at": now,
            "updated_at": now,
            "dedupe_key": dedupe_key,
        }
    )
    return status if inserted else None


async def _consented(repository: MessageRepository, who: Recipient, channel: Channel) -> bool:
    """The member's consent on the channel: as read with the member, or read now."""
    if who.consent is not None and who.consent[0] is channel.consent:
        return who.consent[1]
    return await repository.has_consent(who.contact.member_id, channel.consent)


async def list_messages(
    session: AsyncSession,
    *,
    member_id: int | None = None,
    status: MessageStatus | None = None,
    kind: MessageKind | None = None,
    after: int | None = None,
    limit: int = 50,
    waiting: dict[str, str] | None = None,
) -> MessagePage:
    """The log newest first. ``waiting`` (channel name → why it cannot send) is reported for
    the channels that have queued messages."""
    repository = MessageRepository(session)
    rows = await repository.page(
        member_id=member_id,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        after=after,
        limit=limit + 1,
    )
    items = [MessageView.model_validate(row) for row in rows[:limit]]
    queued = await repository.queued_channels()
    reasons = {
        channel: f"{count} queued: {(waiting or {})[channel]}"
        for channel, count in sorted(queued.items())
        if channel in (waiting or {})
    }
    next_after = items[-1].id if len(rows) > limit else None
    return MessagePage(items=items, next_after=next_after, waiting=reasons)


async def _read_token(session: AsyncSession, token: str) -> tuple[int, str]:
    key = await tokens.existing_key(session)
    read = None if key is None else tokens.read_token(key, token)
    if read is None or read[1] not in {c.value for c in ConsentChannel}:
        raise UnsubscribeLinkInvalidError("this unsubscribe link is not valid", field="token")
    return read


async def _page_language(session: AsyncSession, member_id: int) -> str:
    who = await recipient(session, member_id, None)
    if who is None:
        raise UnsubscribeLinkInvalidError("this unsubscribe link is not valid", field="token")
    return who.contact.language


async def unsubscribe_link(session: AsyncSession, *, token: str) -> Unsubscribed:
    """What the link would revoke (nothing changes)."""
    member_id, channel = await _read_token(session, token)
    language = await _page_language(session, member_id)
    return Unsubscribed(member_id=member_id, channel=channel, language=language, changed=False)


async def unsubscribe(session: AsyncSession, *, token: str, now: datetime) -> Unsubscribed:
    """Revoke the consent the link names (recorded in ``consent_events`` with source
    ``unsubscribe_link``); a second use changes nothing and succeeds."""
    member_id, channel = await _read_token(session, token)
    language = await _page_language(session, member_id)
    repository = MessageRepository(session)
    was = await repository.has_consent(member_id, ConsentChannel(channel))
    try:
        await members_service.set_consent(
            session,
            member_id=member_id,
            channel=ConsentChannel(channel),
            is_granted=False,
            source=UNSUBSCRIBE_SOURCE,
            now=now,
        )
    except MemberErasedError:
        was = False  # an erased member has no consents left to revoke
    return Unsubscribed(member_id=member_id, channel=channel, language=language, changed=was)


async def forget_member(session: AsyncSession, *, member_id: int, now: datetime) -> int:
    """Blank the personal data in a member's messages (on ``members.erased``)."""
    return await MessageRepository(session).scrub_member(member_id, now)
