"""The queries behind a campaign's stats (``GET /campaigns/{key}/stats``,
:func:`patron.campaigns.views.campaign_stats`): what its applications add up to, what returns
gave back, and the cashback it credited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.models import CampaignApplication, CampaignAward
from patron.members.models import Member
from patron.wallet.models import WalletEntry, WalletEntryKind


@dataclass(frozen=True, slots=True)
class GivenBack:
    """What returns gave back to one campaign in all: points, money (minor units) and uses."""

    points: int = 0
    money: int = 0
    uses: int = 0


@dataclass(frozen=True, slots=True)
class CampaignTotals:
    """What the application rows of one campaign add up to."""

    participants: int = 0
    applications: int = 0
    points: int = 0
    revenue: int = 0


class CampaignTotalsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def totals(self, program_id: int, key: str) -> CampaignTotals:
        """The campaign's applications to purchases and on its other triggers (signup,
        birthday, a custom event, ...): members, applications, points, purchase revenue."""
        purchases = select(
            CampaignApplication.member_id.label("member_id"),
            CampaignApplication.points.label("points"),
            CampaignApplication.revenue.label("revenue"),
        ).where(
            CampaignApplication.program_id == program_id,
            CampaignApplication.campaign_key == key,
        )
        triggers = select(
            CampaignAward.member_id.label("member_id"),
            CampaignAward.points.label("points"),
            literal(0, BigInteger).label("revenue"),
        ).where(CampaignAward.program_id == program_id, CampaignAward.campaign_key == key)
        both = union_all(purchases, triggers).subquery()
        row = (
            await self.session.execute(
                select(
                    func.count(func.distinct(both.c.member_id)),
                    func.count(),
                    func.coalesce(func.sum(both.c.points), 0),
                    func.coalesce(func.sum(both.c.revenue), 0),
                )
            )
        ).one()
        return CampaignTotals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    async def given_back(self, program_id: int, key: str) -> GivenBack:
        """What returns gave back to the campaign in all."""
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(CampaignApplication.points_returned), 0),
                    func.coalesce(func.sum(CampaignApplication.money_returned), 0),
                    func.count().filter(CampaignApplication.uses_returned.is_(True)),
                ).where(
                    CampaignApplication.program_id == program_id,
                    CampaignApplication.campaign_key == key,
                )
            )
        ).one()
        return GivenBack(int(row[0]), int(row[1]), int(row[2]))

    async def cashback_given(self, program_id: int, key: str) -> int:
        """The cashback (minor units) the campaign's ``credit_wallet`` effects credited to the
        program's members' wallets (returns taken back not subtracted)."""
        found = await self.session.scalar(
            select(func.coalesce(func.sum(WalletEntry.amount), 0))
            .join(Member, Member.id == WalletEntry.member_id)
            .where(
                Member.program_id == program_id,
                WalletEntry.kind == WalletEntryKind.CREDIT,
                WalletEntry.source_type == "campaign",
                WalletEntry.source_id == key,
            )
        )
        return int(found or 0)
