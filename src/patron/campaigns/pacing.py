"""Budget pacing: whether a campaign spending at its rate so far runs out of budget before its
window ends, and the daily job's step that emits ``campaigns.budget_alert`` (``pacing``) for it.

The rate is the points spent over the time the window has run (``now - start``, to the
second, so the time of day the job runs does not matter); at that rate the whole window would
spend ``projected_points = spent x window / elapsed``, and the budget runs out at
``start + elapsed x budget / spent``: ``exhausted_on`` is the local day its last point goes
(a budget gone at midnight ran out the day before). The alert is due
when that is before the window's end, from :data:`MIN_ELAPSED` into the window (the first
hours' rate says little), for a budget not yet spent. Once per campaign and budget
(``campaign_counters.pacing_alerted_at``; a money budget, counted in minor units the same
way, ``money_pacing_alerted_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from patron.campaigns.events import CampaignBudgetAlert
from patron.campaigns.repository import CampaignRepository
from patron.kit.db import Database
from patron.kit.money import format_amount
from patron.kit.outbox import emit
from patron.programs import service as program_service
from patron.rules.vocabulary import Campaign
from patron.rules.vocabulary.campaigns import CampaignStatus, Window

MIN_ELAPSED = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Pace:
    projected_points: int
    exhausted_on: date
    ends_on: date
    days_elapsed: int


def budget_pace(
    window: Window, timezone: str, now: datetime, *, spent: int, budget: int
) -> Pace | None:
    """The pace of a campaign that will run out before its window ends; ``None`` otherwise
    (or when it is too early to say, the window is over, or the budget is spent)."""
    start, end = window.bounds(timezone)
    if not start + MIN_ELAPSED <= now < end or not 0 < spent < budget:
        return None
    elapsed = int((now - start).total_seconds())
    whole = int((end - start).total_seconds())
    projected = spent * whole // elapsed
    if projected <= budget:
        return None
    lasting = -(-budget * elapsed // spent)  # seconds from the start until the budget is gone
    zone = ZoneInfo(timezone)
    runs_out = (start + timedelta(seconds=lasting - 1)).astimezone(zone)
    last = (end - timedelta(microseconds=1)).astimezone(zone)
    return Pace(projected, runs_out.date(), last.date(), elapsed // 86400)


def _budgeted(campaigns: list[Campaign], now: datetime, timezone: str) -> list[Campaign]:
    return [
        campaign
        for campaign in campaigns
        if campaign.budget is not None
        and campaign.status_at(now, timezone) is CampaignStatus.ACTIVE
    ]


async def run_budget_pacing(database: Database, *, key: str, now: datetime) -> int:
    """Emit the pacing alerts due in program ``key`` at ``now``; returns how many."""
    emitted = 0
    async with database.write() as session:
        active = await program_service.get_active_program(session, key=key)
        timezone = active.program.program.timezone
        campaigns = _budgeted(active.program.campaigns, now, timezone)
        if not campaigns:
            return 0
        repository = CampaignRepository(session)
        state = await repository.pacing_state(active.program_id)
        for campaign in campaigns:
            assert campaign.budget is not None
            spent, alerted, money, money_alerted = state.get(campaign.key, (0, False, 0, False))
            budgets: list[tuple[str, int, int, bool]] = []
            if campaign.budget.points is not None:
                budgets.append(("points", campaign.budget.points, spent, alerted))
            if campaign.budget.money is not None:
                minor = active.program.minor(campaign.budget.money)
                budgets.append(("money", minor, money, money_alerted))
            for kind, budget, used, done in budgets:
                alert = None if done else _alert(campaign, kind, budget, used, timezone, now)
                mark = "pacing" if kind == "points" else "money_pacing"
                if alert is None or not await repository.mark_alert(
                    active.program_id, campaign.key, mark, now
                ):
                    continue
                if kind == "money":
                    alert = _in_money(alert, active.program.currency)
                await emit(session, alert, program_id=active.program_id, occurred_at=now)
                emitted += 1
    return emitted


def _alert(
    campaign: Campaign, kind: str, budget: int, spent: int, timezone: str, now: datetime
) -> CampaignBudgetAlert | None:
    """The pacing alert of one budget (points, or money in minor units), if it is due."""
    pace = budget_pace(campaign.window, timezone, now, spent=spent, budget=budget)
    if pace is None:
        return None
    return CampaignBudgetAlert(
        campaign_key=campaign.key,
        alert="pacing",
        budget=kind,
        budget_points=budget,
        spent_points=spent,
        percent_spent=spent * 100 // budget,
        projected_points=pace.projected_points,
        exhausted_on=pace.exhausted_on,
        ends_on=pace.ends_on,
        days_elapsed=pace.days_elapsed,
    )


def _in_money(alert: CampaignBudgetAlert, currency: str) -> CampaignBudgetAlert:
    """A money budget's alert: its amounts as decimal text, the points fields null."""
    assert alert.budget_points is not None
    assert alert.spent_points is not None
    assert alert.projected_points is not None
    return alert.model_copy(
        update={
            "budget_money": format_amount(alert.budget_points, currency),
            "spent_money": format_amount(alert.spent_points, currency),
            "projected_money": format_amount(alert.projected_points, currency),
            "currency": currency,
            "budget_points": None,
            "spent_points": None,
            "projected_points": None,
        }
    )
