"""Read-only queries of the simulator: a program's purchases and lines, its members' earned
and redeemed points, and the points spent per reward."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.models import CampaignSeed
from patron.ledger.models import Account
from patron.members.models import Member
from patron.purchases.models import Purchase, PurchaseLine
from patron.rewards.models import Coupon, CouponStatus


class SimulatorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def purchases(self, program_id: int) -> list[tuple[object, ...]]:
        """``(id, external_id, member_id, occurred_at, total, shipping, channel, store)``."""
        query = select(
            Purchase.id,
            Purchase.external_id,
            Purchase.member_id,
            Purchase.occurred_at,
            Purchase.total,
            Purchase.shipping,
            Purchase.channel,
            Purchase.store,
        ).where(Purchase.program_id == program_id)
        return [tuple(row) for row in (await self.session.execute(query)).all()]

    async def lines(self, program_id: int) -> list[tuple[object, ...]]:
        """``(purchase_id, line_no, sku, category, quantity, unit_price, discount)``."""
        query = (
            select(
                PurchaseLine.purchase_id,
                PurchaseLine.line_no,
                PurchaseLine.sku,
                PurchaseLine.category,
                PurchaseLine.quantity,
                PurchaseLine.unit_price,
                PurchaseLine.discount,
            )
            .join(Purchase, Purchase.id == PurchaseLine.purchase_id)
            .where(Purchase.program_id == program_id)
        )
        return [tuple(row) for row in (await self.session.execute(query)).all()]

    async def earned_and_redeemed(self, program_id: int) -> tuple[int, int]:
        """Lifetime earned and net redeemed points over the program's members."""
        query = (
            select(func.sum(Account.lifetime_earned), func.sum(Account.redeemed))
            .join(Member, Member.id == Account.member_id)
            .where(Member.program_id == program_id)
        )
        earned, redeemed = (await self.session.execute(query)).one()
        return int(earned or 0), int(redeemed or 0)

    async def points_spent_per_reward(self, program_id: int) -> dict[str, int]:
        """Points spent on each reward code (coupons issued and not cancelled)."""
        query = (
            select(Coupon.reward_code, func.sum(Coupon.cost_points))
            .where(Coupon.program_id == program_id, Coupon.status != CouponStatus.CANCELLED)
            .group_by(Coupon.reward_code)
        )
        return {
            code: int(points or 0) for code, points in (await self.session.execute(query)).all()
        }

    async def seeds(self, program_id: int) -> dict[str, str]:
        """The committed seeds of the program's prize and raffle campaigns, by key."""
        query = select(CampaignSeed.campaign_key, CampaignSeed.seed).where(
            CampaignSeed.program_id == program_id
        )
        return {key: seed for key, seed in (await self.session.execute(query)).all()}
