"""Handlers that turn events into messages, one per message kind (joined in
``worker/registry.py``). Each renders its message in the event's unit of work and queues it
(or records why it was skipped); the sender does the rest. Handler names key their runs in
``outbox_handler_runs``: never rename one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import EventEnvelope, Handler, in_turn
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.members import portal
from patron.notifications import campaign_messages, formatting
from patron.notifications.channels import Channel
from patron.notifications.repository import MessageRepository
from patron.notifications.schemas import MessageKind
from patron.notifications.sender import CHANNELS
from patron.notifications.service import Recipient, forget_member, queue_message, recipient
from patron.notifications.settings import public_url, welcome_imported

Values = Callable[[AsyncSession, EventEnvelope, Recipient], Awaitable[dict[str, Any] | None]]


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


async def _welcome(
    session: AsyncSession, event: EventEnvelope, who: Recipient
) -> dict[str, Any] | None:
    if event.data.get("imported") and not welcome_imported():
        return None
    document = who.program.program if who.program else None
    earning = document.earning.base if document else None
    return {
        "earn_points": earning.points if earning else 0,
        "earn_amount": document.minor(earning.per_amount) if document and earning else 0,
        "referral_code": who.referral_code,
    }


async def _tier_changed(
    session: AsyncSession, event: EventEnvelope, who: Recipient
) -> dict[str, Any] | None:
    tiers = who.program.program.tiers if who.program else None
    levels = {level.id: level for level in tiers.levels} if tiers else {}
    to_key, from_key = event.data.get("to_tier"), event.data.get("from_tier")
    to_level = levels.get(str(to_key)) if to_key else None
    from_level = levels.get(str(from_key)) if from_key else None
    balance = await ledger_service.balance(session, member_id=who.contact.member_id, now=utcnow())
    return {
        "direction": event.data.get("direction", "up"),
        "to_tier": to_level.name if to_level else to_key,
        "from_tier": from_level.name if from_level else from_key,
        "multiplier": formatting.number(
            to_level.earn_multiplier.normalize() if to_level else 1, who.contact.language
        ),
        "perks": list(to_level.perks) if to_level else [],
        "balance": balance.available,
    }


async def _points_expiring(
    session: AsyncSession, event: EventEnvelope, who: Recipient
) -> dict[str, Any] | None:
    return {
        "expiring": int(event.data["points"]),
        "expires_at": _time(event.data["expires_at"]),
        "days": int(event.data["days"]),
    }


async def _survey_invitation(
    session: AsyncSession, event: EventEnvelope, who: Recipient
) -> dict[str, Any] | None:
    key = str(event.data["survey_key"])
    name = await MessageRepository(session).survey_name(event.program_id, key)
    return {
        "survey": name or key,
        "link": public_url() + str(event.data["path"]),
        "expires_at": _time(event.data["expires_at"]),
    }


async def _portal_login(
    session: AsyncSession, event: EventEnvelope, who: Recipient
) -> dict[str, Any] | None:
    if event.data.get("channel", "email") != "email":
        return None
    token = await portal.create_link(session, member_id=who.contact.member_id, now=utcnow())
    return {"link": public_url() + PORTAL_LOGIN_PATH + token, "minutes": portal.LINK_MINUTES}


def _handler(event_type: str, kind: MessageKind, values: Values, channel: Channel) -> Handler:
    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        member_id = event.data.get("member_id")
        if not isinstance(member_id, int):
            return
        who = await recipient(session, member_id, event.program_id, consent=channel.consent)
        if who is None:
            return
        given = await values(session, event, who)
        if given is None:
            return
        await queue_message(
            session,
            channel=channel,
            kind=kind,
            event=event,
            who=who,
            values=given,
            now=utcnow(),
        )

    return Handler(
        f"notifications.{channel.name}.{kind.value}",
        frozenset({event_type}),
        handle,
        handle_many=in_turn(handle),
    )


async def _erased(session: AsyncSession, event: EventEnvelope) -> None:
    member_id = event.data.get("member_id")
    if isinstance(member_id, int):
        await forget_member(session, member_id=member_id, now=utcnow())


KINDS: list[tuple[str, MessageKind, Values]] = [
    ("members.enrolled", MessageKind.WELCOME, _welcome),
    ("tiers.changed", MessageKind.TIER_CHANGED, _tier_changed),
    ("points.expiring", MessageKind.POINTS_EXPIRING, _points_expiring),
    ("surveys.invited", MessageKind.SURVEY_INVITATION, _survey_invitation),
    ("members.login_requested", MessageKind.PORTAL_LOGIN, _portal_login),
]
PORTAL_LOGIN_PATH = "/portal/login/"


def handlers() -> list[Handler]:
    """One handler per message kind and channel (the program's own messages, kind
    ``campaign``: :mod:`patron.notifications.campaign_messages`), and one that forgets erased
    members."""
    made = [
        _handler(event_type, kind, values, channel)
        for channel in CHANNELS
        for event_type, kind, values in KINDS
    ]
    made += [campaign_messages.handler(channel) for channel in CHANNELS]
    made.append(Handler("notifications.erase", frozenset({"members.erased"}), _erased))
    return made
