"""Every query and lock of the wallet.

A wallet write locks the member's ``wallets`` row first (``SELECT ... FOR UPDATE``; on SQLite
the write unit of work already holds the database's write lock), then checks the entry's
idempotency key, then moves the balance with ``balance = balance + :amount`` and appends the
entry with the balance it left. A purchase, a return and the cashback handler lock the
member's points account before the wallet, so no two writers wait on each other in a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from patron.wallet.models import Wallet, WalletEntry, WalletEntryKind


@dataclass(frozen=True, slots=True)
class LockedWallet:
    id: int
    member_id: int
    currency: str
    balance: int


@dataclass(frozen=True, slots=True)
class PurchaseSums:
    """What a purchase's wallet entries add up to, each positive."""

    credited: int
    reversed: int
    spent: int
    refunded: int


class WalletRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, member_id: int, currency: str, now: datetime) -> LockedWallet:
        """The member's wallet, created empty in ``currency`` if it has none, locked until the
        unit of work ends."""
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        await self.session.execute(
            dialect.insert(Wallet)
            .values(
                member_id=member_id, currency=currency, balance=0, created_at=now, updated_at=now
            )
            .on_conflict_do_nothing(index_elements=[Wallet.member_id])
        )
        row = (
            await self.session.execute(
                select(Wallet.id, Wallet.member_id, Wallet.currency, Wallet.balance)
                .where(Wallet.member_id == member_id)
                .with_for_update()
            )
        ).one()
        return LockedWallet(int(row[0]), int(row[1]), str(row[2]), int(row[3]))

    async def find(self, member_id: int) -> LockedWallet | None:
        row = (
            await self.session.execute(
                select(Wallet.id, Wallet.member_id, Wallet.currency, Wallet.balance).where(
                    Wallet.member_id == member_id
                )
            )
        ).first()
        return (
            None
            if row is None
            else LockedWallet(int(row[0]), int(row[1]), str(row[2]), int(row[3]))
        )

    async def entry_by_key(self, key: str) -> WalletEntry | None:
        return await self.session.scalar(
            select(WalletEntry).where(WalletEntry.idempotency_key == key)
        )

    async def append(
        self,
        wallet: LockedWallet,
        *,
        kind: WalletEntryKind,
        amount: int,
        idempotency_key: str,
        source_type: str,
        source_id: str,
        purchase_id: int | None,
        description: str,
        occurred_at: datetime,
        now: datetime,
    ) -> WalletEntry:
        """Move the (locked) wallet's balance by ``amount`` and append its entry."""
        balance = (
            await self.session.execute(
                update(Wallet)
                .where(Wallet.id == wallet.id)
                .values(balance=Wallet.balance + amount, updated_at=now)
                .returning(Wallet.balance)
            )
        ).scalar_one()
        entry = WalletEntry(
            wallet_id=wallet.id,
            member_id=wallet.member_id,
            kind=kind,
            amount=amount,
            balance_after=int(balance),
            purchase_id=purchase_id,
            source_type=source_type,
            source_id=source_id,
            idempotency_key=idempotency_key,
            description=description[:255],
            occurred_at=occurred_at,
            created_at=now,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def page(self, member_id: int, limit: int, before_id: int | None) -> list[WalletEntry]:
        """The member's entries, newest first."""
        query = select(WalletEntry).where(WalletEntry.member_id == member_id)
        if before_id is not None:
            query = query.where(WalletEntry.id < before_id)
        query = query.order_by(WalletEntry.id.desc()).limit(limit)
        return list(await self.session.scalars(query))

    async def purchase_sums(self, purchase_id: int) -> PurchaseSums:
        def total(kind: WalletEntryKind) -> Any:
            amount = case((WalletEntry.kind == kind, WalletEntry.amount), else_=0)
            return func.coalesce(func.sum(amount), 0)

        row = (
            await self.session.execute(
                select(
                    total(WalletEntryKind.CREDIT),
                    total(WalletEntryKind.REVERSE),
                    total(WalletEntryKind.SPEND),
                    total(WalletEntryKind.REFUND),
                ).where(WalletEntry.purchase_id == purchase_id)
            )
        ).one()
        return PurchaseSums(int(row[0]), -int(row[1]), -int(row[2]), int(row[3]))
