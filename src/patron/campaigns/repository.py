"""Every query of the campaigns but the stats' totals (:mod:`patron.campaigns.totals`):
claims and releases (straight to the driver, in the purchase's transaction), application
rows and counters.

A claim is one statement that checks and counts at once: an upsert whose ``DO UPDATE``
carries the limit in its ``WHERE``. On PostgreSQL a concurrent claim of the same row waits
for the first transaction and then re-checks the ``WHERE`` against the committed row, so a
limit is never passed; no row returned means the claim was refused."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.models import CampaignApplication, CampaignCounter
from patron.kit.raw import Sql, raw_of
from patron.wallet.models import WalletEntry, WalletEntryKind

NO_LIMIT = 2**62  # larger than any count or budget a program file may write

_CLAIM_COUNTER = Sql(
    "INSERT INTO campaign_counters (program_id, campaign_key, uses, points_spent, money_spent) "
    "VALUES ($1, $2, 1, $3, $6) "
    "ON CONFLICT (program_id, campaign_key) DO UPDATE "
    "SET uses = campaign_counters.uses + 1, "
    "points_spent = campaign_counters.points_spent + $3, "
    "money_spent = campaign_counters.money_spent + $6 "
    "WHERE campaign_counters.uses + 1 <= $4 AND campaign_counters.points_spent + $3 <= $5 "
    "AND campaign_counters.money_spent + $6 <= $7 "
    "RETURNING points_spent, money_spent"
)
_MARK_ALERT = {
    alert: Sql(
        f"UPDATE campaign_counters SET {alert}_alerted_at = $3 "
        f"WHERE program_id = $1 AND campaign_key = $2 AND {alert}_alerted_at IS NULL "
        "RETURNING points_spent"
    )
    for alert in ("spent", "pacing", "money_spent", "money_pacing")
}
_RELEASE_COUNTER = Sql(
    "UPDATE campaign_counters SET uses = uses - 1, points_spent = points_spent - $3, "
    "money_spent = money_spent - $4 "
    "WHERE program_id = $1 AND campaign_key = $2"
)
_GIVE_BACK_COUNTER = Sql(
    "UPDATE campaign_counters SET uses = uses - $3, points_spent = points_spent - $4, "
    "money_spent = money_spent - $5 "
    "WHERE program_id = $1 AND campaign_key = $2"
)
_SET_RETURNED = Sql(
    "UPDATE campaign_applications SET points_returned = $2, money_returned = $3, "
    "uses_returned = $4 WHERE id = $1"
)
_CLAIM_MEMBER = Sql(
    "INSERT INTO campaign_member_usages (member_id, campaign_key, period_key, uses) "
    "VALUES ($1, $2, $3, 1) "
    "ON CONFLICT (member_id, campaign_key, period_key) DO UPDATE "
    "SET uses = campaign_member_usages.uses + 1 "
    "WHERE campaign_member_usages.uses + 1 <= $4 "
    "RETURNING uses"
)
_RELEASE_MEMBER = Sql(
    "UPDATE campaign_member_usages SET uses = uses - 1 "
    "WHERE member_id = $1 AND campaign_key = $2 AND period_key = $3"
)
_COUNT_DRAW = Sql(
    "INSERT INTO campaign_counters (program_id, campaign_key, uses, points_spent, draws) "
    "VALUES ($1, $2, 0, 0, 1) "
    "ON CONFLICT (program_id, campaign_key) DO UPDATE "
    "SET draws = campaign_counters.draws + 1 "
    "RETURNING draws"
)
_RELEASE_DRAW = Sql(
    "UPDATE campaign_counters SET draws = draws - 1 WHERE program_id = $1 AND campaign_key = $2"
)
_CLAIM_MONEY = Sql(
    "INSERT INTO campaign_counters (program_id, campaign_key, uses, points_spent, money_spent) "
    "VALUES ($1, $2, 0, 0, $3) "
    "ON CONFLICT (program_id, campaign_key) DO UPDATE "
    "SET money_spent = campaign_counters.money_spent + $3 "
    "WHERE campaign_counters.money_spent + $3 <= $4 "
    "RETURNING money_spent"
)
_INSERT_APPLICATION = Sql(
    "INSERT INTO campaign_applications (program_id, campaign_key, purchase_id, member_id, "
    "points, revenue, occurred_at, created_at, counted, money, period_key) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)


def _usage_query(count: int) -> Sql:
    pairs = " OR ".join(
        f"(campaign_key = ${2 * i + 2} AND period_key = ${2 * i + 3})" for i in range(count)
    )
    return Sql(
        f"SELECT campaign_key, uses FROM campaign_member_usages WHERE member_id = $1 AND ({pairs})"
    )


def _counter_query(count: int) -> Sql:
    keys = ", ".join(f"${i + 2}" for i in range(count))
    return Sql(
        "SELECT campaign_key, uses, points_spent FROM campaign_counters "
        f"WHERE program_id = $1 AND campaign_key IN ({keys})"
    )


@dataclass(frozen=True, slots=True)
class Applied:
    """One campaign applied to a purchase, as its row records it: the points it added, whether
    its counter row was counted, the cashback claimed from its money budget (minor units) and
    the member's usage period counted (``None``: none)."""

    key: str
    points: int
    counted: bool = False
    money: int = 0
    period_key: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnedShare:
    """What returns gave back of one application: points, money (minor units), its use."""

    points: int
    money: int
    uses: bool


@dataclass(frozen=True, slots=True)
class PurchaseCashback:
    """A purchase's cashback in its wallet entries (minor units): credited per campaign key,
    credited in all (rules' included) and taken back by its returns."""

    by_campaign: dict[str, int]
    credited: int
    reversed: int


class CampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_counter(
        self,
        program_id: int,
        key: str,
        points: int,
        total: int | None,
        budget: int | None,
        money: int = 0,
        money_budget: int | None = None,
    ) -> tuple[int, int] | None:
        """Count one application of ``points`` and ``money`` (minor units) if the campaign's
        global limit and budgets allow it (one atomic statement): the points and the money
        spent with it; ``None`` (refused) changes nothing."""
        total = NO_LIMIT if total is None else total
        budget = NO_LIMIT if budget is None else budget
        money_budget = NO_LIMIT if money_budget is None else money_budget
        if total < 1 or points > budget or money > money_budget:  # a first claim's insert
            return None  # checks nothing
        raw = await raw_of(self.session)
        row = await raw.one(
            _CLAIM_COUNTER, program_id, key, points, total, budget, money, money_budget
        )
        return None if row is None else (int(row[0]), int(row[1]))

    async def mark_alert(self, program_id: int, key: str, alert: str, now: datetime) -> bool:
        """Record that the campaign's ``alert`` (``spent``, ``pacing``) was emitted; ``False``
        when it had been already (each is emitted once)."""
        raw = await raw_of(self.session)
        return await raw.one(_MARK_ALERT[alert], program_id, key, now) is not None

    async def pacing_state(self, program_id: int) -> dict[str, tuple[int, bool, int, bool]]:
        """Per campaign key with a counter: the points spent, whether their pacing alert was
        emitted, the money spent (minor units) and whether its pacing alert was emitted."""
        rows = await self.session.execute(
            select(
                CampaignCounter.campaign_key,
                CampaignCounter.points_spent,
                CampaignCounter.pacing_alerted_at,
                CampaignCounter.money_spent,
                CampaignCounter.money_pacing_alerted_at,
            ).where(CampaignCounter.program_id == program_id)
        )
        return {
            str(key): (int(spent), alerted is not None, int(money), money_alerted is not None)
            for key, spent, alerted, money, money_alerted in rows
        }

    async def release_counter(self, program_id: int, key: str, points: int, money: int = 0) -> None:
        raw = await raw_of(self.session)
        await raw.run(_RELEASE_COUNTER, program_id, key, points, money)

    async def claim_money(self, program_id: int, key: str, money: int, budget: int) -> bool:
        """Claim ``money`` (minor units) from the campaign's money budget without counting a
        use (a raffle's wallet prize): one atomic statement; ``False`` (refused) changes
        nothing."""
        if money > budget:  # a first claim's insert checks nothing
            return False
        raw = await raw_of(self.session)
        return await raw.one(_CLAIM_MONEY, program_id, key, money, budget) is not None

    async def count_draw(self, program_id: int, key: str) -> int:
        """Count one qualifying purchase of an every-N-th prize (one atomic statement that
        locks the counter row until the purchase commits): its number, 1, 2, ..."""
        raw = await raw_of(self.session)
        row = await raw.one(_COUNT_DRAW, program_id, key)
        assert row is not None
        return int(row[0])

    async def release_draw(self, program_id: int, key: str) -> None:
        raw = await raw_of(self.session)
        await raw.run(_RELEASE_DRAW, program_id, key)

    async def claim_member(self, member_id: int, key: str, period_key: str, limit: int) -> bool:
        """Count one application to the member in the period if ``limit`` allows it."""
        raw = await raw_of(self.session)
        return await raw.one(_CLAIM_MEMBER, member_id, key, period_key, limit) is not None

    async def release_member(self, member_id: int, key: str, period_key: str) -> None:
        raw = await raw_of(self.session)
        await raw.run(_RELEASE_MEMBER, member_id, key, period_key)

    async def member_usage(self, member_id: int, keys: Iterable[tuple[str, str]]) -> dict[str, int]:
        """Applications to the member per campaign key, for ``(key, period key)`` pairs."""
        pairs = list(keys)
        if not pairs:
            return {}
        raw = await raw_of(self.session)
        rows = await raw.all(
            _usage_query(len(pairs)), member_id, *[v for pair in pairs for v in pair]
        )
        return {key: uses for key, uses in rows}

    async def counters(self, program_id: int, keys: Iterable[str]) -> dict[str, tuple[int, int]]:
        """``(uses, points spent)`` per campaign key (keys never claimed are missing)."""
        wanted = list(keys)
        if not wanted:
            return {}
        raw = await raw_of(self.session)
        rows = await raw.all(_counter_query(len(wanted)), program_id, *wanted)
        return {key: (uses, points) for key, uses, points in rows}

    async def money_spent(self, program_id: int, keys: Iterable[str]) -> dict[str, int]:
        """The money (minor units) claimed per campaign key (keys never claimed are missing)."""
        wanted = list(keys)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(CampaignCounter.campaign_key, CampaignCounter.money_spent).where(
                CampaignCounter.program_id == program_id,
                CampaignCounter.campaign_key.in_(wanted),
            )
        )
        return {str(key): int(money) for key, money in rows}

    async def add_applications(
        self,
        program_id: int,
        purchase_id: int,
        member_id: int,
        applied: Iterable[Applied],
        revenue: int,
        occurred_at: datetime,
        now: datetime,
    ) -> None:
        raw = await raw_of(self.session)
        await raw.many(
            _INSERT_APPLICATION,
            [
                (
                    program_id,
                    a.key,
                    purchase_id,
                    member_id,
                    a.points,
                    revenue,
                    occurred_at,
                    now,
                    a.counted,
                    a.money,
                    a.period_key,
                )
                for a in applied
            ],
        )

    async def applications_for_update(self, purchase_id: int) -> list[CampaignApplication]:
        """The purchase's application rows, locked until the transaction ends (PostgreSQL)."""
        query = (
            select(CampaignApplication)
            .where(CampaignApplication.purchase_id == purchase_id)
            .order_by(CampaignApplication.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(await self.session.scalars(query))

    async def purchase_cashback(self, purchase_id: int) -> PurchaseCashback:
        credited = case((WalletEntry.kind == WalletEntryKind.CREDIT, WalletEntry.amount), else_=0)
        taken = case((WalletEntry.kind == WalletEntryKind.REVERSE, -WalletEntry.amount), else_=0)
        rows = await self.session.execute(
            select(
                WalletEntry.source_type,
                WalletEntry.source_id,
                func.sum(credited),
                func.sum(taken),
            )
            .where(WalletEntry.purchase_id == purchase_id)
            .group_by(WalletEntry.source_type, WalletEntry.source_id)
        )
        by_campaign: dict[str, int] = {}
        total = reversed_ = 0
        for source_type, source_id, credit, reverse in rows:
            total += int(credit or 0)
            reversed_ += int(reverse or 0)
            if source_type == "campaign" and credit:
                by_campaign[str(source_id)] = by_campaign.get(str(source_id), 0) + int(credit)
        return PurchaseCashback(by_campaign, total, reversed_)

    async def set_returned(self, application_id: int, returned: ReturnedShare) -> None:
        raw = await raw_of(self.session)
        await raw.run(_SET_RETURNED, application_id, returned.points, returned.money, returned.uses)

    async def give_back_counter(
        self, program_id: int, key: str, *, uses: int, points: int, money: int
    ) -> None:
        """Take ``uses``, ``points`` and ``money`` off what the campaign's counter row spent
        (one atomic statement; the caller gives back only what was claimed)."""
        raw = await raw_of(self.session)
        await raw.run(_GIVE_BACK_COUNTER, program_id, key, uses, points, money)

    async def counter(self, program_id: int, key: str) -> CampaignCounter | None:
        return await self.session.get(CampaignCounter, (program_id, key))
