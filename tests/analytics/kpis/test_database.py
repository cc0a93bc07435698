"""The loader and the KPIs over a store built through the real services (SQLite and
PostgreSQL), against the figures worked out by hand in dbstore.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from patron.analytics.kpis.inputs import KpiSettings
from patron.analytics.kpis.service import Breakdown, KpiQuery, kpi_report
from patron.kit.db import Database
from tests.analytics.kpis.dbstore import build_store

Q1 = KpiQuery(first=date(2026, 1, 1), last=date(2026, 3, 31), settings=KpiSettings(margin_rate=0.5))
TODAY = date(2026, 4, 1)


async def test_window_kpis_from_the_ledger(database: Database) -> None:
    await build_store(database)
    async with database.read() as session:
        report = await kpi_report(session, query=Q1, today=TODAY)
    program = report["program"]
    assert (program["enrolled"], program["newly_enrolled"], program["active"]) == (3, 2, 2)
    assert program["participation_rate"] == pytest.approx(0.666667)
    points = program["points"]
    assert (points["issued"], points["redeemed"], points["expired"]) == (600, 100, 40)
    assert points["outstanding"] == 500  # m1 300, m2 200
    assert (points["point_value"], points["point_value_source"]) == (50.0, "catalogue")
    assert points["expected_redemption_rate"] == pytest.approx(0.714286)  # 100 / (100 + 40)
    assert points["liability"] == 17857  # 500 × 50 × 100/140
    assert points["reward_cost"] == 5000
    sales = report["customers"]["sales"]
    assert sales["members"]["orders"] == 4
    assert sales["members"]["net_sales"] == 600000  # 2000 + 2000 (after the return) + 1500 + 500
    assert sales["members"]["refunded"] == 100000
    assert sales["members"]["repeat_purchase_rate"] == 1.0
    assert sales["members"]["average_order_value"] == 150000.0
    assert (sales["non_members"]["orders"], sales["non_members"]["net_sales"]) == (1, 120000)
    _, february, march = report["customers"]["periods"]
    assert (february["retention_rate"], march["retention_rate"]) == (0.5, 0.0)
    assert report["customers"]["cohorts"] == [
        {"cohort": "2026-01", "size": 1, "members": [1, 1], "rates": [1.0, 1.0]}
    ]
    roi = program["return_on_investment"]
    # member orders × (member AOV − guest AOV) = 4 × 30000; × 0.5 − 5000, over 5000.
    assert (roi["incremental_net_sales"], roi["program_cost"]) == (120000, 5000)
    assert roi["roi"] == 11.0
    assert report["window"]["points_source"] == "ledger_entries"


async def test_whole_history_from_the_accounts_agrees(database: Database) -> None:
    await build_store(database)
    query = KpiQuery(by=(Breakdown.TIER,))
    async with database.read() as session:
        report = await kpi_report(session, query=query, today=TODAY)
    assert report["window"]["from"] == "2025-01-02"
    assert report["window"]["points_source"] == "accounts"
    points = report["program"]["points"]
    # All history: 40 + 200 + 150 + 300 − 100 + 50 issued; 100 redeemed; 40 expired.
    assert (points["issued"], points["redeemed"], points["expired"]) == (640, 100, 40)
    assert points["outstanding"] == 500
    (group,) = report["breakdown"]["tier"]
    assert (group["group"], group["enrolled"], group["active"]) == ("(none)", 3, 2)
    assert group["points"]["issued"] == 640


async def test_segments_must_exist(database: Database) -> None:
    await build_store(database)
    from patron.analytics.kpis.errors import GroupingUnavailableError

    async with database.read() as session:
        with pytest.raises(GroupingUnavailableError):
            await kpi_report(session, query=KpiQuery(by=(Breakdown.SEGMENT,)), today=TODAY)


async def test_breakdown_by_segment_once_segments_are_computed(database: Database) -> None:
    from patron.worker.segments import refresh_segments

    await build_store(database)
    await refresh_segments(database, now=datetime(2026, 4, 1, tzinfo=UTC))
    async with database.read() as session:
        report = await kpi_report(session, query=KpiQuery(by=(Breakdown.SEGMENT,)), today=TODAY)
    groups = report["breakdown"]["segment"]
    # m3 has made no purchase, so no segment; m1 and m2 are scored against each other
    assert [(g["group"], g["enrolled"]) for g in groups] == [
        ("hibernating", 1),
        ("loyal", 1),
        ("(none)", 1),
    ]
