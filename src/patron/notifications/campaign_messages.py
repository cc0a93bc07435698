"""The program's own messages (``messages:`` in the program file), sent by the deferred effect
``send_message``: the handler of ``campaigns.message_due``.

It reads the message from the program version the effect was applied under, picks the
member's language (else the program's default language, which every message has), fills the
placeholders (:data:`patron.programs.message_templates.PLACEHOLDERS`) and queues it through
:func:`patron.notifications.service.queue_message` as kind ``campaign``: the same templates
around it (greeting, footer, unsubscribe link), the same consent check when queued and when
sent, the same sender and log. The message is keyed by the event's ``key`` (the campaign's
application), so an application whose effect ran twice makes one message.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.outbox import EventEnvelope, Handler, in_turn
from patron.kit.time import utcnow
from patron.notifications import formatting
from patron.notifications.channels import Channel
from patron.notifications.schemas import MessageKind
from patron.notifications.service import queue_message, recipient
from patron.programs import service as program_service
from patron.programs.message_templates import fill
from patron.programs.schema import Program

EVENT = "campaigns.message_due"


def _source_name(program: Program, source: str, source_id: str, language: str) -> str:
    if source == "campaign":
        campaign = program.campaign(source_id)
        return campaign.name.pick(language) if campaign is not None else source_id
    rule = next((rule for _, rule in program.all_rules() if rule.id == source_id), None)
    return rule.name if rule is not None else source_id


def paragraphs(body: str) -> list[list[str]]:
    """The body's paragraphs (split at blank lines), each a list of its lines."""
    blocks = [block.strip() for block in body.replace("\r\n", "\n").split("\n\n")]
    return [block.split("\n") for block in blocks if block]


def handler(channel: Channel) -> Handler:
    """The handler that queues the program's messages on ``channel``."""

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        data = event.data
        member_id, program_id = data.get("member_id"), event.program_id
        if not isinstance(member_id, int) or program_id is None:
            return
        who = await recipient(session, member_id, program_id)
        if who is None:
            return
        program = await program_service.program_version(
            session, program_id=program_id, version=int(data["program_version"])
        )
        message = program.message(str(data["message"]))
        if message is None:  # pragma: no cover - validated in the program file
            return
        default = program.program.default_language.value
        language, subject, body = message.pick(who.contact.language, default)
        reward = program.reward(str(data["reward_key"])) if data.get("reward_key") else None
        values = {
            "name": who.name or "",
            "program": program.program.name,
            "campaign": _source_name(
                program, str(data["source"]), str(data["source_id"]), language
            ),
            "points": formatting.points(int(data["points"]), language),
            "coupon_code": str(data.get("coupon_code") or ""),
            "reward": reward.name_in(language) if reward is not None else "",
        }
        body = fill(body, values)
        await queue_message(
            session,
            channel=channel,
            kind=MessageKind.CAMPAIGN,
            event=event,
            who=replace(who, contact=replace(who.contact, language=language)),
            values={
                "message_subject": fill(subject, values),
                "message_body": body,
                "paragraphs": paragraphs(body),
            },
            now=utcnow(),
            dedupe_key=str(data["key"]),
        )

    return Handler(
        f"notifications.{channel.name}.{MessageKind.CAMPAIGN.value}",
        frozenset({EVENT}),
        handle,
        handle_many=in_turn(handle),
    )
