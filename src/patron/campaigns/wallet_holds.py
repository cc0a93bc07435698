"""Crediting the cashback held while a member was blocked, when the block is lifted.

The handler ``campaigns.release_held_cashback`` runs on ``members.unblocked``: each hold of
the member not released yet (:mod:`patron.wallet.holds`) is credited as the deferred
``credit_wallet`` effect it comes from would have been (:func:`~patron.campaigns.
wallet_credit.credit_wallet`, from the program version its purchase was scored with, under the
same key ``deferred:<purchase>:<rule or campaign:key>:<index>``, so it is credited once
whatever runs again), and marked released. What was returned of the purchase meanwhile is
taken back at once, by the same rule as a late credit. A member blocked again before the
handler runs keeps their holds until the next unblock.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.deferred import Applied, effect_at, scored_with
from patron.campaigns.wallet_credit import credit_wallet
from patron.kit.outbox import EventEnvelope, Handler
from patron.ledger import service as ledger_service
from patron.members.models import Member, MemberStatus
from patron.purchases.models import Purchase
from patron.rules.campaigns import ROW_PREFIX
from patron.rules.vocabulary.effects import CreditWallet
from patron.wallet import holds

HANDLER_NAME = "campaigns.release_held_cashback"


async def release_held_cashback(session: AsyncSession, event: EventEnvelope) -> None:
    member_id = event.data.get("member_id")
    if not isinstance(member_id, int):
        return
    await ledger_service.lock_account_for_update(session, member_id)
    member = await session.get(Member, member_id, populate_existing=True)
    if member is None or member.status is not MemberStatus.ACTIVE:
        return  # blocked again (or gone): the holds wait for the next unblock
    for held in await holds.held(session, member_id=member_id):
        purchase = await session.get(Purchase, held.purchase_id)
        if purchase is not None:
            active = await scored_with(session, purchase)
            prefix = ROW_PREFIX if held.source_type == "campaign" else ""
            effect = effect_at(active.program, prefix + held.source_id, held.effect_index)
            if isinstance(effect, CreditWallet):
                applied = Applied(
                    active,
                    purchase.id,
                    member_id,
                    held.source_type,
                    held.source_id,
                    held.effect_index,
                    held.occurred_at,
                    event.occurred_at,
                )
                await credit_wallet(session, applied, effect)
        await holds.release(session, hold_id=held.id, now=event.occurred_at)


def _names_a_member(event: EventEnvelope) -> bool:
    return isinstance(event.data.get("member_id"), int)


HANDLERS = [
    Handler(
        name=HANDLER_NAME,
        events=frozenset({"members.unblocked"}),
        handle=release_held_cashback,
        applies=_names_a_member,
    )
]
