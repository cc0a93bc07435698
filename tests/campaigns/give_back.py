"""Shared setup of the give-back tests: a campaign with a points and a money budget, a global
usage limit and a per-member limit, and the invariant that its counters hold exactly what the
ledger and the wallet show the campaign still gives."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from patron.campaigns.models import CampaignApplication, CampaignCounter, CampaignMemberUsage
from patron.kit.db import Database
from patron.ledger.models import LedgerEntry
from patron.purchases.models import Purchase
from patron.wallet.models import WalletEntry, WalletEntryKind

# 100 points and 5 % cashback on purchases over 100.00 (the base earns 100 per 1,000.00)
GIVER = """
  - key: giver
    name: {en: Giver}
    window: {start: "2026-01-01", end: "2030-12-31"}
    when: {order_total_gte: "100.00"}
    effect: {bonus_points: 100}
    deferred:
      - credit_wallet: {percent: "5"}
    limits: {per_member: 1, period: month, total: 50}
    budget: {points: 300, money: "150.00"}
"""


def _share(part: int, done: int, whole: int) -> int:
    """docs/campaigns.md: floor(part x done / whole), all of it once done reaches whole."""
    return part if whole <= 0 or done >= whole else part * done // whole


@dataclass(frozen=True, slots=True)
class Counter:
    uses: int
    points: int
    money: int


async def counter(database: Database, key: str = "giver") -> Counter:
    async with database.read() as session:
        rows = (
            await session.execute(
                select(
                    CampaignCounter.uses, CampaignCounter.points_spent, CampaignCounter.money_spent
                ).where(CampaignCounter.campaign_key == key)
            )
        ).all()
    return Counter(*rows[0]) if rows else Counter(0, 0, 0)


async def member_uses(database: Database, key: str = "giver") -> int:
    async with database.read() as session:
        rows = await session.scalars(
            select(CampaignMemberUsage.uses).where(CampaignMemberUsage.campaign_key == key)
        )
        return sum(rows)


async def still_gives(database: Database, key: str = "giver") -> Counter:
    """What the ledger and the wallet show the campaign still gives, computed apart from the
    give-back's own columns: per application, its points less its share of the points the
    ledger's return entries took back, its cashback credited less its share of what the
    wallet's reverse entries took back (never more than it claimed), one use unless the
    purchase's goods are wholly refunded."""
    async with database.read() as session:
        applications = (
            await session.scalars(
                select(CampaignApplication).where(CampaignApplication.campaign_key == key)
            )
        ).all()
        uses = points = money = 0
        for application in applications:
            purchase = await session.get(Purchase, application.purchase_id)
            assert purchase is not None
            taken = await session.scalars(
                select(LedgerEntry.amount).where(
                    LedgerEntry.source_type == "return",
                    LedgerEntry.source_id.like(f"{purchase.id}:%"),
                )
            )
            reversed_points = -sum(taken)
            wallet = (
                await session.execute(
                    select(WalletEntry.kind, WalletEntry.amount, WalletEntry.source_id).where(
                        WalletEntry.purchase_id == purchase.id
                    )
                )
            ).all()
            credited = sum(a for k, a, _ in wallet if k is WalletEntryKind.CREDIT)
            mine = sum(a for k, a, s in wallet if k is WalletEntryKind.CREDIT and s == key)
            taken_back = -sum(a for k, a, _ in wallet if k is WalletEntryKind.REVERSE)
            points += application.points - _share(
                application.points, reversed_points, purchase.points_earned
            )
            money += application.money - min(_share(mine, taken_back, credited), application.money)
            wholly = purchase.refunded >= purchase.total - purchase.shipping
            uses += 0 if wholly else 1
    return Counter(uses, points, money)
