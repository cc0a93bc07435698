"""``patron verify`` for the wallet: prove that every wallet's balance and entries agree.

Checked for every wallet (definitions in :mod:`patron.wallet.models`):

- ``wallet_balance``: the cached balance = Σ its entries;
- ``wallet_negative``: the balance is not below 0;
- ``wallet_running_balance``: each entry's ``balance_after`` = the running sum of the
  wallet's entries up to it (by id), and is not below 0;
- ``wallet_entry_sign``: ``credit`` and ``refund`` entries are positive, ``spend`` and
  ``reverse`` negative (``adjust`` either);
- ``wallet_reversed``: a purchase's reversals never exceed the cashback it was credited;
- ``wallet_refunded``: a purchase's refunds never exceed what the wallet paid of it;
- ``wallet_entry_in_future``: no entry was created after ``now``.

(``purchases.wallet_paid`` against the spend entries is checked by
:func:`patron.purchases.wallet_pay.verify_paid`, above this layer.) Only breaches come back.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger.verify import Breach
from patron.wallet.models import Wallet, WalletEntry, WalletEntryKind


class WalletCheck(StrEnum):
    BALANCE = "wallet_balance"
    NEGATIVE = "wallet_negative"
    RUNNING_BALANCE = "wallet_running_balance"
    ENTRY_SIGN = "wallet_entry_sign"
    REVERSED = "wallet_reversed"
    REFUNDED = "wallet_refunded"
    ENTRY_IN_FUTURE = "wallet_entry_in_future"
    PAID = "wallet_paid"  # checked by patron.purchases.wallet_pay.verify_paid


_POSITIVE = frozenset({WalletEntryKind.CREDIT, WalletEntryKind.REFUND})
_NEGATIVE = frozenset({WalletEntryKind.SPEND, WalletEntryKind.REVERSE})


def _sum(expression: Any) -> Any:
    return func.coalesce(func.sum(expression), 0)


def _of_kind(kind: WalletEntryKind) -> Any:
    return case((WalletEntry.kind == kind, WalletEntry.amount), else_=0)


async def _wallet_breaches(session: AsyncSession) -> list[Breach]:
    sums = (
        select(WalletEntry.wallet_id, _sum(WalletEntry.amount).label("total"))
        .group_by(WalletEntry.wallet_id)
        .subquery()
    )
    total = func.coalesce(sums.c.total, 0)
    statement = (
        select(Wallet.id, Wallet.member_id, Wallet.balance, total.label("total"))
        .outerjoin(sums, sums.c.wallet_id == Wallet.id)
        .where(or_(Wallet.balance != total, Wallet.balance < 0))
        .order_by(Wallet.id)
    )
    found: list[Breach] = []
    for row in await session.execute(statement):
        subject = f"wallet {row.id}"
        if row.balance != row.total:
            found.append(
                Breach(WalletCheck.BALANCE, row.member_id, subject, row.total, row.balance)
            )
        if row.balance < 0:
            found.append(Breach(WalletCheck.NEGATIVE, row.member_id, subject, 0, row.balance))
    return found


async def _entry_breaches(session: AsyncSession, now: datetime) -> list[Breach]:
    running = (
        select(
            WalletEntry.id,
            WalletEntry.member_id,
            WalletEntry.kind,
            WalletEntry.amount,
            WalletEntry.balance_after,
            WalletEntry.created_at,
            func.sum(WalletEntry.amount)
            .over(partition_by=WalletEntry.wallet_id, order_by=WalletEntry.id)
            .label("running"),
        )
    ).subquery()
    wrong_sign = or_(
        and_(running.c.kind.in_(_POSITIVE), running.c.amount <= 0),
        and_(running.c.kind.in_(_NEGATIVE), running.c.amount >= 0),
    )
    statement = (
        select(running)
        .where(
            or_(
                running.c.balance_after != running.c.running,
                running.c.balance_after < 0,
                wrong_sign,
                running.c.created_at > now,
            )
        )
        .order_by(running.c.id)
    )
    found: list[Breach] = []
    for row in await session.execute(statement):
        subject = f"wallet entry {row.id}"
        if row.balance_after != row.running or row.balance_after < 0:
            found.append(
                Breach(
                    WalletCheck.RUNNING_BALANCE,
                    row.member_id,
                    subject,
                    max(int(row.running), 0),
                    row.balance_after,
                )
            )
        positive = row.kind in _POSITIVE
        if row.kind in _POSITIVE | _NEGATIVE and (row.amount > 0) != positive:
            found.append(
                Breach(
                    WalletCheck.ENTRY_SIGN,
                    row.member_id,
                    subject,
                    1 if positive else -1,
                    row.amount,
                )
            )
        if row.created_at > now:
            found.append(Breach(WalletCheck.ENTRY_IN_FUTURE, row.member_id, subject, 0, 1))
    return found


async def _reversal_breaches(session: AsyncSession) -> list[Breach]:
    credited = _sum(_of_kind(WalletEntryKind.CREDIT))
    reversed_ = -_sum(_of_kind(WalletEntryKind.REVERSE))
    spent = -_sum(_of_kind(WalletEntryKind.SPEND))
    refunded = _sum(_of_kind(WalletEntryKind.REFUND))
    statement = (
        select(
            WalletEntry.purchase_id,
            func.min(WalletEntry.member_id).label("member_id"),
            credited.label("credited"),
            reversed_.label("reversed"),
            spent.label("spent"),
            refunded.label("refunded"),
        )
        .where(WalletEntry.purchase_id.is_not(None))
        .group_by(WalletEntry.purchase_id)
        .having(or_(reversed_ > credited, refunded > spent))
        .order_by(WalletEntry.purchase_id)
    )
    found: list[Breach] = []
    for row in await session.execute(statement):
        subject = f"purchase {row.purchase_id}"
        if row.reversed > row.credited:
            found.append(
                Breach(
                    WalletCheck.REVERSED,
                    row.member_id,
                    subject,
                    int(row.credited),
                    int(row.reversed),
                )
            )
        if row.refunded > row.spent:
            found.append(
                Breach(
                    WalletCheck.REFUNDED, row.member_id, subject, int(row.spent), int(row.refunded)
                )
            )
    return found


async def verify(session: AsyncSession, *, now: datetime) -> list[Breach]:
    """Every breach of the wallet's invariants over every wallet (empty: all is well)."""
    found = await _wallet_breaches(session)
    found.extend(await _entry_breaches(session, now))
    found.extend(await _reversal_breaches(session))
    return found
