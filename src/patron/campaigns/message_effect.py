"""The deferred effect ``send_message``: a message of the program (``messages:``) to the member.

Applied by :func:`patron.campaigns.deferred.apply_effects` after the purchase (or with another
trigger's campaign), after the other effects of the same list, so that the coupon its
``issue_reward`` issued is there to be named. It only emits ``campaigns.message_due`` with
what the message needs (the points given this time, the coupon's code and reward); the
handler ``notifications.email.campaign`` renders it in the member's language and queues it
in the message log, where consent is checked (queued, or ``skipped_no_consent`` with the
reason) and again when sent, like every other message. The message is keyed by the
application (``Applied.key``), so however often this runs the member gets it once.

A message that names the coupon (``{coupon_code}``, ``{reward}``) is not sent when no coupon
was issued (the reward's stock was used up, or the member is blocked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.events import CampaignMessageDue
from patron.kit.outbox import emit
from patron.programs.message_templates import NEEDS_COUPON
from patron.programs.schema import Program
from patron.purchases.models import Purchase
from patron.rewards.models import Coupon
from patron.rules.campaigns import ROW_PREFIX
from patron.rules.vocabulary import DeferredEffect
from patron.rules.vocabulary.effects import Deferred, SendMessage

if TYPE_CHECKING:
    from patron.campaigns.deferred import Applied


def deferred_of(program: Program, source: str, source_id: str) -> list[Deferred]:
    """The ``deferred`` list of the campaign ``source_id`` or of the earn rule ``source_id``."""
    if source == "campaign":
        campaign = program.campaign(source_id)
        return list(campaign.deferred) if campaign is not None else []
    rule = next((rule for _, rule in program.all_rules() if rule.id == source_id), None)
    return list(rule.deferred) if rule is not None else []


async def _points(session: AsyncSession, applied: Applied) -> int:
    if applied.points is not None or applied.purchase_id is None:
        return applied.points or 0
    purchase = await session.get(Purchase, applied.purchase_id)
    row_id = (ROW_PREFIX if applied.source == "campaign" else "") + applied.source_id
    rows = purchase.breakdown if purchase is not None else []
    return sum(int(row["points"]) for row in rows if row.get("rule_id") == row_id)


async def _coupon(
    session: AsyncSession, applied: Applied, deferred: list[Deferred]
) -> tuple[str, str] | None:
    """``(code, reward)`` of the coupon the list's first ``issue_reward`` issued, if any."""
    index = next((i for i, item in enumerate(deferred) if item.issue_reward is not None), None)
    if index is None:
        return None
    row = (
        await session.execute(
            select(Coupon.code, Coupon.reward_code).where(
                Coupon.idempotency_key == applied.key_at(index)
            )
        )
    ).first()
    return (str(row.code), str(row.reward_code)) if row is not None else None


async def send_message(session: AsyncSession, applied: Applied, effect: DeferredEffect) -> None:
    if not isinstance(effect, SendMessage):  # pragma: no cover - the registry is keyed by type
        raise TypeError(effect)
    program = applied.active.program
    message = program.message(effect.template)
    if message is None:  # pragma: no cover - validation refuses an unknown message
        return
    coupon = await _coupon(
        session, applied, deferred_of(program, applied.source, applied.source_id)
    )
    if coupon is None and message.placeholders() & NEEDS_COUPON:
        return  # nothing to name: no coupon was issued
    event = CampaignMessageDue(
        member_id=applied.member_id,
        message=message.id,
        program_version=applied.active.version,
        key=applied.key,
        source=applied.source,
        source_id=applied.source_id,
        points=await _points(session, applied),
        purchase_id=applied.purchase_id,
        occurrence=applied.occurrence,
        coupon_code=coupon[0] if coupon else None,
        reward_key=coupon[1] if coupon else None,
    )
    await emit(session, event, program_id=applied.active.program_id, occurred_at=applied.now)
