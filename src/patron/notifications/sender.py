"""The sender: a :class:`~patron.kit.outbox.Poller` that sends queued messages.

Each round takes the due queued messages of the channels that can send (a channel without its
settings is skipped: its messages wait, and the log says why). A message is claimed for one
attempt (attempt count + 1, next attempt pushed past a lease) in a short write unit that also
rechecks consent and address: a member who revoked consent since gets nothing and the message
becomes ``skipped_no_consent``. The send itself runs outside any transaction; its outcome is
written in a second short unit: ``sent``, or ``queued`` again with backoff for a transient
failure, or ``failed`` for a permanent one or after :data:`MAX_SEND_ATTEMPTS`. A sender that
dies mid-send leaves the message to be retried after the lease (at least once).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from patron.kit.db import Database
from patron.kit.outbox import Poller
from patron.notifications.channels import Channel, Contact, OutgoingMessage, SendError
from patron.notifications.models import Message
from patron.notifications.repository import MessageRepository
from patron.notifications.schemas import REDACTED_BODY, TRANSACTIONAL, MessageStatus
from patron.notifications.smtp import EmailChannel

CHANNELS: list[Channel] = [EmailChannel()]
"""Every channel, by name in the log. SMS and push join here."""

MAX_SEND_ATTEMPTS = 10
"""Attempts before a message fails: 1 min doubling, at most 6 h apart (about 8.5 h in all)."""
LEASE = timedelta(minutes=10)
BATCH = 50


def send_backoff(attempts: int) -> timedelta:
    """Wait after failed attempt number ``attempts`` (1, 2, ...)."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=6))


def waiting() -> dict[str, str]:
    """Channel name → why it cannot send now, for the channels that cannot."""
    reasons = {channel.name: channel.unavailable() for channel in CHANNELS}
    return {name: reason for name, reason in reasons.items() if reason is not None}


async def _claim(
    database: Database, channel: Channel, message_id: int, attempts: int, now: datetime
) -> OutgoingMessage | None:
    """Claim the message for this attempt; None when another sender took it or it was
    skipped here (no consent, no address)."""
    async with database.write() as session:
        repository = MessageRepository(session)
        row = await repository.claim(message_id, attempts, now + LEASE)
        if row is None:
            return None
        member = await repository.recipient(row.member_id, row.program_id)
        address = None
        if member is not None:
            contact = Contact(member.id, member.email, member.phone, row.language)
            address = channel.address(contact)
        if address is None:
            await _skip(repository, row, MessageStatus.SKIPPED_NO_ADDRESS, "no address", now)
            return None
        transactional = row.kind in TRANSACTIONAL
        if not transactional and not await repository.has_consent(row.member_id, channel.consent):
            reason = f"no {channel.consent.value} consent when sent"
            await _skip(repository, row, MessageStatus.SKIPPED_NO_CONSENT, reason, now)
            return None
        row.recipient = address
        return OutgoingMessage(
            id=row.id,
            kind=row.kind,
            language=row.language,
            recipient=address,
            subject=row.subject,
            body_text=row.body_text,
            body_html=row.body_html,
            unsubscribe_url=row.unsubscribe_url,
        )


async def _skip(
    repository: MessageRepository, row: Message, status: MessageStatus, why: str, now: datetime
) -> None:
    await repository.finish(
        row.id, status=status.value, next_attempt_at=None, last_error=why, updated_at=now
    )


async def _record(
    database: Database,
    outgoing: OutgoingMessage,
    attempts: int,
    error: SendError | None,
    now: datetime,
) -> None:
    message_id = outgoing.id
    if error is None:
        values: dict[str, object] = {
            "status": MessageStatus.SENT.value,
            "sent_at": now,
            "next_attempt_at": None,
            "last_error": None,
        }
    elif error.transient and attempts < MAX_SEND_ATTEMPTS:
        values = {"next_attempt_at": now + send_backoff(attempts), "last_error": str(error)}
    else:
        values = {
            "status": MessageStatus.FAILED.value,
            "next_attempt_at": None,
            "last_error": str(error)[:2000],
        }
    if outgoing.kind in TRANSACTIONAL and "status" in values:  # it has left the queue
        values.update(body_text=REDACTED_BODY, body_html=None)
    async with database.write() as session:
        await MessageRepository(session).finish(message_id, updated_at=now, **values)


async def send_due(database: Database, now: datetime) -> int:
    """Send what is due at ``now``; returns how many messages were attempted or skipped."""
    ready = {channel.name: channel for channel in CHANNELS if channel.unavailable() is None}
    if not ready:
        return 0
    async with database.read() as session:
        due = await MessageRepository(session).due(list(ready), now, BATCH)
    handled = 0
    for message_id, attempts, name in due:
        channel = ready[name]
        outgoing = await _claim(database, channel, message_id, attempts, now)
        handled += 1
        if outgoing is None:
            continue
        error: SendError | None = None
        try:
            await channel.send(outgoing)
        except SendError as failure:
            error = failure
        await _record(database, outgoing, attempts + 1, error, now)
    return handled


def pollers() -> list[Poller]:
    return [Poller("notifications.sender", send_due)]
