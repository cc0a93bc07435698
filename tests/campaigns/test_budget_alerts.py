"""Budget alerts (``campaigns.budget_alert``): ``spent`` from the claim that crosses
``budget.alert_percent`` (default 80), once per campaign, on the purchase path and the
trigger path; ``pacing`` from the daily job when the rate spent so far runs the budget out
before the window ends, once. The pacing arithmetic is held by a property test. On both
databases (the race of 50 purchases is in test_races.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from patron.campaigns.custom_events import record_event
from patron.campaigns.event_schemas import CustomEventCreate
from patron.campaigns.pacing import MIN_ELAPSED, budget_pace, run_budget_pacing
from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.rules.vocabulary.campaigns import Window
from patron.worker.daily import run_daily_jobs
from tests.campaigns.programs import with_campaigns
from tests.campaigns.triggers import enrol

MOSCOW = "Europe/Moscow"
# Friday 11 December 2026, 12:00 in Moscow: 10.5 days into a December window
NOW = datetime(2026, 12, 11, 9, 0, tzinfo=UTC)


def _campaign(budget: str, trigger: str = "") -> str:
    return f"""
  - key: bonus
    name: {{en: Bonus}}
    window: {{start: "2026-12-01", end: "2026-12-31"}}
    effect: {{bonus_points: 100}}
    budget: {budget}
{trigger}"""


async def _apply(database: Database, campaigns: str) -> int:
    async with database.write() as session:
        applied = await program_service.apply_program(
            session,
            text=with_campaigns(campaigns),
            key="default",
            created_by="tests",
            now=NOW - timedelta(days=20),
        )
    return applied.program_id


async def _buy(database: Database, member: str, n: int) -> None:
    data = PurchaseCreate.model_validate(
        {
            "external_id": f"p-{n}",
            "member_external_id": member,
            "occurred_at": NOW.isoformat(),
            "currency": "RUB",
            "total": "100.00",
            "lines": [{"sku": "t", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
        }
    )
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        await record_purchase(session, active=active, data=data, now=NOW)


async def _alerts(database: Database) -> list[dict[str, Any]]:
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.type == "campaigns.budget_alert")
            .order_by(OutboxEvent.id)
        )
        return [dict(row) for row in rows]


async def test_the_spent_alert_comes_once_at_80_percent(database: Database) -> None:
    program_id = await _apply(database, _campaign("{points: 1000}"))
    await enrol(database, program_id, "ann")
    for n in range(7):
        await _buy(database, "ann", n)
    assert await _alerts(database) == []  # 700 of 1,000
    await _buy(database, "ann", 7)  # 800: the alert
    await _buy(database, "ann", 8)
    await _buy(database, "ann", 9)  # 1,000: spent, no second alert
    await _buy(database, "ann", 10)  # refused by the budget
    assert await _alerts(database) == [
        {
            "campaign_key": "bonus",
            "alert": "spent",
            "budget_points": 1000,
            "spent_points": 800,
            "percent_spent": 80,
            "projected_points": None,
            "exhausted_on": None,
            "ends_on": None,
            "days_elapsed": None,
            "budget": "points",
            "budget_money": None,
            "spent_money": None,
            "projected_money": None,
            "currency": None,
        }
    ]


async def test_the_alert_percent_is_the_programs_and_the_trigger_path_alerts_too(
    database: Database,
) -> None:
    campaign = _campaign(
        "{points: 1000, alert_percent: 50}", "    trigger: event\n    event: share\n"
    )
    program_id = await _apply(database, campaign)
    member = await enrol(database, program_id, "bea")
    for n in range(6):
        async with database.write() as session:
            active = await program_service.get_active_program(session)
            data = CustomEventCreate.model_validate(
                {
                    "member_id": member,
                    "type": "share",
                    "occurred_at": NOW.isoformat(),
                    "idempotency_key": f"share-{n}",
                }
            )
            await record_event(session, active=active, data=data, now=NOW)
    alerts = await _alerts(database)
    assert [(a["alert"], a["spent_points"], a["percent_spent"]) for a in alerts] == [
        ("spent", 500, 50)
    ]


async def test_the_pacing_alert_comes_once_from_the_daily_job(database: Database) -> None:
    program_id = await _apply(database, _campaign("{points: 1000}"))
    await enrol(database, program_id, "cy")
    for n in range(5):  # 500 of 1,000 after 10.5 of 31 days: 1,476 at that rate, gone in 21
        await _buy(database, "cy", n)
    report = await run_daily_jobs(database, now=NOW)
    assert report.budget_alerts == {"default": 1}
    again = await run_budget_pacing(database, key="default", now=NOW + timedelta(days=1))
    assert again == 0
    (alert,) = await _alerts(database)
    assert alert == {
        "campaign_key": "bonus",
        "alert": "pacing",
        "budget_points": 1000,
        "spent_points": 500,
        "percent_spent": 50,
        "projected_points": 1476,
        "exhausted_on": "2026-12-21",
        "ends_on": "2026-12-31",
        "days_elapsed": 10,
        "budget": "points",
        "budget_money": None,
        "spent_money": None,
        "projected_money": None,
        "currency": None,
    }


async def test_no_pacing_alert_on_pace_or_too_early(database: Database) -> None:
    program_id = await _apply(database, _campaign("{points: 10000}"))
    await enrol(database, program_id, "dee")
    for n in range(3):  # 300 of 10,000: on pace
        await _buy(database, "dee", n)
    assert await run_budget_pacing(database, key="default", now=NOW) == 0
    early = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)  # under two days into the window
    window = Window.model_validate({"start": "2026-12-01", "end": "2026-12-31"})
    assert budget_pace(window, MOSCOW, early, spent=9000, budget=10000) is None


WINDOW = Window.model_validate({"start": "2026-12-01", "end": "2026-12-31"})
START, END = WINDOW.bounds(MOSCOW)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    seconds=st.integers(min_value=0, max_value=int((END - START).total_seconds()) + 86400),
    spent=st.integers(min_value=0, max_value=20_000),
    budget=st.integers(min_value=1, max_value=20_000),
)
def test_the_pace_is_due_exactly_when_the_rate_runs_out_early(
    seconds: int, spent: int, budget: int
) -> None:
    now = START + timedelta(seconds=seconds)
    pace = budget_pace(WINDOW, MOSCOW, now, spent=spent, budget=budget)
    elapsed, whole = seconds, int((END - START).total_seconds())
    due = MIN_ELAPSED.total_seconds() <= elapsed < whole and 0 < spent < budget
    due = due and spent * whole // elapsed > budget
    assert (pace is not None) == due
    if pace is not None:
        assert pace.ends_on == date(2026, 12, 31)
        assert pace.projected_points == spent * whole // elapsed > budget
        zone = END.tzinfo
        assert now.astimezone(zone).date() <= pace.exhausted_on <= pace.ends_on
        # at the rate so far the budget is spent by the end of that day, not before its start
        day_start = datetime.combine(pace.exhausted_on, datetime.min.time(), tzinfo=zone)
        day_end = day_start + timedelta(days=1)
        assert spent * (day_end - START).total_seconds() >= budget * elapsed
        assert spent * (day_start - START).total_seconds() < budget * elapsed


async def test_a_money_budget_has_its_own_pacing_alert(database: Database) -> None:
    # 100.00 cashback a purchase, 500.00 of 1,000.00 after 10.5 of 31 days
    cashback = (
        '{points: 100000, money: "1000.00"}\n'
        '    deferred:\n      - credit_wallet: {amount: "100.00"}'
    )
    program_id = await _apply(database, _campaign(cashback))
    await enrol(database, program_id, "ed")
    for n in range(5):
        await _buy(database, "ed", n)
    assert await run_budget_pacing(database, key="default", now=NOW) == 1
    assert await run_budget_pacing(database, key="default", now=NOW + timedelta(days=1)) == 0
    (alert,) = await _alerts(database)
    assert alert == {
        "campaign_key": "bonus",
        "alert": "pacing",
        "budget_points": None,
        "spent_points": None,
        "percent_spent": 50,
        "projected_points": None,
        "exhausted_on": "2026-12-21",
        "ends_on": "2026-12-31",
        "days_elapsed": 10,
        "budget": "money",
        "budget_money": "1000.00",
        "spent_money": "500.00",
        "projected_money": "1476.19",
        "currency": "RUB",
    }
