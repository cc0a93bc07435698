"""Paying part of a purchase from the member's cashback wallet (issue 12, part 5).

A purchase may carry ``wallet_amount``: the part of its ``total`` the member's wallet pays.
It is checked before anything is written (a member's purchase only, at most the total:
422 ``wallet_amount_invalid``, field ``wallet_amount``) and spent once the purchase row is
inserted, in the purchase's unit of work, after the member's account is locked: one
``spend`` entry keyed ``purchase:<id>`` (:func:`patron.wallet.service.spend_for_purchase`),
and ``purchases.wallet_paid``. More than the balance is 422 ``wallet_insufficient`` (field
``wallet_amount``) and the whole purchase is rolled back. A retry with the same
``external_id`` is answered from the stored purchase and spends nothing again.

Points are still earned on the whole ``total`` (the wallet is a means of payment, like a
card); the wallet's own cashback is computed on what was paid otherwise
(:mod:`patron.campaigns.wallet_credit`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.money import parse_amount
from patron.ledger.verify import Breach
from patron.members.schemas import MemberState
from patron.programs.schemas import ActiveProgram
from patron.purchases.models import Purchase
from patron.purchases.schemas import PurchaseCreate
from patron.wallet import service as wallet_service
from patron.wallet.errors import WalletAmountInvalidError
from patron.wallet.models import WalletEntry, WalletEntryKind
from patron.wallet.verify import WalletCheck

FIELD = "wallet_amount"


def wallet_amount(data: PurchaseCreate, total: int) -> int:
    """The wallet part of a purchase in minor units (0 when none is given), or 422."""
    amount = _given(data)
    if amount == 0:
        return 0
    if data.member_id is None and data.member_external_id is None:
        raise WalletAmountInvalidError(
            "only a member's purchase can be paid from a wallet", field=FIELD
        )
    if amount > total:
        raise WalletAmountInvalidError(
            "the wallet cannot pay more than the purchase's total", field=FIELD
        )
    return amount


def _given(data: PurchaseCreate) -> int:
    if data.wallet_amount is None:
        return 0
    return parse_amount(data.wallet_amount, data.currency, field=FIELD)


async def pay_from_wallet(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member: MemberState | None,
    data: PurchaseCreate,
    purchase_id: int,
    now: datetime,
) -> None:
    """Spend the new purchase's wallet part (checked by :func:`wallet_amount`), if any, from
    the member's wallet, and record it on the purchase."""
    amount = _given(data)
    if member is None or amount == 0:
        return
    await wallet_service.spend_for_purchase(
        session,
        program_id=active.program_id,
        member_id=member.id,
        currency=data.currency,
        amount=amount,
        purchase_id=purchase_id,
        description=f"purchase {data.external_id}",
        occurred_at=data.occurred_at,
        now=now,
    )
    await session.execute(
        update(Purchase).where(Purchase.id == purchase_id).values(wallet_paid=amount)
    )


async def verify_paid(session: AsyncSession) -> list[Breach]:
    """``wallet_paid``: each purchase's ``wallet_paid`` is what its ``spend`` entry took, and
    within 0 and its total (a check of ``patron verify``)."""
    spent = (
        select(WalletEntry.purchase_id, (-func.sum(WalletEntry.amount)).label("spent"))
        .where(WalletEntry.kind == WalletEntryKind.SPEND)
        .group_by(WalletEntry.purchase_id)
        .subquery()
    )
    taken = func.coalesce(spent.c.spent, 0)
    statement = (
        select(Purchase.id, Purchase.member_id, Purchase.wallet_paid, taken.label("spent"))
        .outerjoin(spent, spent.c.purchase_id == Purchase.id)
        .where(
            or_(
                Purchase.wallet_paid != taken,
                Purchase.wallet_paid < 0,
                Purchase.wallet_paid > Purchase.total,
            )
        )
        .order_by(Purchase.id)
    )
    return [
        Breach(
            WalletCheck.PAID,
            row.member_id or 0,
            f"purchase {row.id}",
            int(row.spent),
            int(row.wallet_paid),
        )
        for row in await session.execute(statement)
    ]
