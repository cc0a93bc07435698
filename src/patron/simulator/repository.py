"""Read-only queries of the simulator: a program's purchases and lines, its members' earned
and redeemed points, the points spent per reward, and what the campaigns on other triggers
read (members, reviews, survey answers, custom events, rewarded referrals)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.models import CampaignSeed, CustomEvent
from patron.feedback.models import Review, SurveyResponse
from patron.kit.outbox import OutboxEvent
from patron.ledger.models import Account
from patron.members.models import Member, MemberStatus
from patron.purchases.models import Purchase, PurchaseLine
from patron.referrals.models import Referral
from patron.rewards.models import Coupon, CouponStatus
from patron.simulator.trigger_occurrences import TriggerData, TriggerMember


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

    async def trigger_data(self, program_id: int) -> TriggerData:
        """The program's active members and their reviews, survey answers, custom events and
        rewarded referrals (the campaigns on other triggers' occurrences)."""
        session = self.session
        imported = {
            int(member_id)
            for member_id, payload in (
                await session.execute(
                    select(OutboxEvent.member_id, OutboxEvent.payload).where(
                        OutboxEvent.program_id == program_id,
                        OutboxEvent.type == "members.enrolled",
                    )
                )
            ).all()
            if member_id is not None and payload.get("imported") is True
        }
        rows = await session.execute(
            select(
                Member.id,
                Member.enrolled_at,
                Member.birth_date,
                Member.birth_date_changed_at,
                Member.attributes,
            )
            .where(
                Member.program_id == program_id,
                Member.status == MemberStatus.ACTIVE,
                Member.erased_at.is_(None),
            )
            .order_by(Member.id)
        )
        members = tuple(
            TriggerMember(
                id=int(member_id),
                enrolled_at=enrolled_at,
                birth_date=birth_date,
                birth_date_changed_at=changed_at,
                attributes=dict(attributes or {}),
                imported=int(member_id) in imported,
            )
            for member_id, enrolled_at, birth_date, changed_at, attributes in rows
        )
        active = {member.id for member in members}
        reviews = await session.execute(
            select(Review.id, Review.member_id, Review.created_at)
            .where(Review.program_id == program_id)
            .order_by(Review.id)
        )
        surveys = await session.execute(
            select(SurveyResponse.id, SurveyResponse.member_id, SurveyResponse.submitted_at)
            .join(Member, Member.id == SurveyResponse.member_id)
            .where(Member.program_id == program_id)
            .order_by(SurveyResponse.id)
        )
        events = await session.execute(
            select(
                CustomEvent.id,
                CustomEvent.member_id,
                CustomEvent.type,
                CustomEvent.occurred_at,
                CustomEvent.created_at,
            )
            .where(CustomEvent.program_id == program_id)
            .order_by(CustomEvent.id)
        )
        referrals = await session.execute(
            select(Referral.id, Referral.referrer_id, Referral.referee_id, Referral.rewarded_at)
            .where(Referral.program_id == program_id, Referral.rewarded_at.is_not(None))
            .order_by(Referral.id)
        )
        return TriggerData(
            members=members,
            reviews=tuple((int(i), int(m), at) for i, m, at in reviews if m in active),
            surveys=tuple((int(i), int(m), at) for i, m, at in surveys if m in active),
            events=tuple(
                (int(i), int(m), t, at, created) for i, m, t, at, created in events if m in active
            ),
            referrals=tuple(
                (int(i), int(a), int(b), at)
                for i, a, b, at in referrals
                if at is not None and (a in active or b in active)
            ),
        )
