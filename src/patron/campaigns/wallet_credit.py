"""The deferred effect ``credit_wallet``: cashback into the member's wallet after a purchase
(or, as an ``amount``, with a campaign of another trigger:
:func:`patron.campaigns.deferred.apply_campaign_effects`).

Applied by the handler ``campaigns.apply_deferred`` (:mod:`patron.campaigns.deferred`) from the
program version the purchase was scored with: ``amount`` credits that money, ``percent``
credits ``floor((total - shipping - wallet_paid) x percent / 100)`` minor units (what the
goods were paid other than from the wallet, so cashback never pays cashback on itself;
rounded down). Keyed ``deferred:<purchase>:<rule or campaign:key>:<index>``, so a run again
credits nothing twice; the credit names the purchase, so a return takes back its share
(:func:`patron.wallet.service.reverse_for_purchase`). When the purchase was already (partly)
returned before the handler ran, the share its refunds call for is taken back at once (and
the campaigns' money budgets get their share back, :mod:`patron.campaigns.give_back`).

A blocked member earns nothing: cashback that falls due while the member is blocked is held
(:mod:`patron.wallet.holds`, nothing credited) and credited under the same key when the block
is lifted (:mod:`patron.campaigns.wallet_holds`), by the same rule, so what was returned
meanwhile is taken into account.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.give_back import give_back_returned
from patron.ledger.errors import AccountNotFoundError
from patron.ledger.repository import lock_account_for_update
from patron.members.models import Member, MemberStatus
from patron.purchases.models import Purchase
from patron.rules.vocabulary import DeferredEffect
from patron.rules.vocabulary.effects import CreditWallet
from patron.wallet import holds
from patron.wallet import service as wallet_service
from patron.wallet.repository import WalletRepository

if TYPE_CHECKING:
    from patron.campaigns.deferred import Applied


def cashback_of(effect: CreditWallet, purchase: Purchase, minor_amount: int) -> int:
    """The cashback in minor units that ``effect`` gives for ``purchase``."""
    paid = purchase.total - purchase.shipping - purchase.wallet_paid
    return effect.cashback(paid, minor_amount)


async def credit_wallet(session: AsyncSession, applied: Applied, effect: DeferredEffect) -> None:
    if not isinstance(effect, CreditWallet):  # pragma: no cover - the registry is keyed by type
        raise TypeError(effect)
    # the member's account, then the purchase's row, then the wallet: a return's order, so a
    # return and a late credit of one purchase never wait on each other in a cycle
    with suppress(AccountNotFoundError):
        await lock_account_for_update(session, applied.member_id)
    program = applied.active.program
    minor = program.minor(effect.amount, path="amount") if effect.amount is not None else 0
    purchase: Purchase | None = None
    if applied.purchase_id is None:  # another trigger: an amount (a percent is refused there)
        amount, description = minor, f"cashback of {applied.source} {applied.source_id}"
    else:
        purchase = await session.get(
            Purchase, applied.purchase_id, with_for_update=True, populate_existing=True
        )
        if purchase is None:  # pragma: no cover - the handler found it
            return
        amount = cashback_of(effect, purchase, minor)
        description = f"cashback of purchase {purchase.external_id}"
    if amount <= 0:
        return
    now: datetime = applied.now or applied.occurred_at
    # under the member's account lock (taken above), which an unblock takes too: a hold
    # written here is released by the unblock that follows it
    if await _blocked(session, applied.member_id):  # another trigger's member: never held
        if (
            purchase is not None
            and await WalletRepository(session).entry_by_key(applied.key) is None
        ):
            await holds.hold(
                session,
                program_id=applied.active.program_id,
                member_id=applied.member_id,
                purchase_id=purchase.id,
                idempotency_key=applied.key,
                source_type=applied.source,
                source_id=applied.source_id,
                effect_index=applied.index,
                occurred_at=applied.occurred_at,
                now=now,
            )
        return
    written = await wallet_service.credit(
        session,
        program_id=applied.active.program_id,
        member_id=applied.member_id,
        currency=program.currency,
        amount=amount,
        idempotency_key=applied.key,
        source_type=applied.source,
        source_id=applied.source_id,
        purchase_id=applied.purchase_id,
        description=description,
        occurred_at=applied.occurred_at,
        now=now,
    )
    if purchase is not None and written.written and purchase.refunded > 0:
        await wallet_service.reverse_for_purchase(
            session,
            program_id=applied.active.program_id,
            member_id=applied.member_id,
            currency=program.currency,
            purchase_id=purchase.id,
            refunded=purchase.refunded,
            paid_for_goods=purchase.total - purchase.shipping,
            idempotency_key=f"late:{applied.key}",
            source_id=f"{purchase.id}:late",
            refuse_when_spent=False,
            occurred_at=applied.occurred_at,
            now=now,
        )
        await give_back_returned(session, purchase=purchase)


async def _blocked(session: AsyncSession, member_id: int) -> bool:
    query = select(Member.status).where(Member.id == member_id)
    status = await session.scalar(query.execution_options(populate_existing=True))
    return status is MemberStatus.BLOCKED
