"""The segments refresh on a real database, through the real services (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select

from patron.analytics.clv.pipeline import fit_clv
from patron.analytics.clv.summary import TimeUnit, summarise_purchases
from patron.kit.db import Database
from patron.members import service as member_service
from patron.members.errors import MemberNotFoundError
from patron.programs import service as program_service
from patron.purchases.models import Purchase
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate, ReturnLineCreate
from patron.segments import service as segment_service
from patron.segments.models import MemberSegment
from patron.segments.schemas import SegmentGroup
from patron.worker.daily import run_daily_jobs
from patron.worker.segments import refresh_segments
from tests.conftest import SEED_PROGRAM
from tests.segments.factories import EXPECTED, GROUPS, HISTORY, NOW, build_store, total_of


async def snapshot(database: Database) -> list[dict[str, Any]]:
    async with database.read() as session:
        rows = (await session.execute(select(MemberSegment).order_by("member_id"))).scalars()
        return [
            {column.key: getattr(row, column.key) for column in MemberSegment.__table__.columns}
            for row in rows
        ]


def reference_p_alive(ids: dict[str, int]) -> dict[int, float]:
    """P(alive) from the analytics models on the same history, fitted here by hand."""
    rows = [
        (ids[name], NOW - timedelta(days=visit.days_ago, hours=2), float(total_of(visit.lines)))
        for name, visits in HISTORY.items()
        for visit in visits
    ]
    log = pl.DataFrame(
        rows,
        schema={"customer_id": pl.Int64, "purchased_at": pl.Datetime("us", "UTC"),
                "amount": pl.Float64},
        orient="row",
    )  # fmt: skip
    summary = summarise_purchases(log, observation_end=NOW.date(), time_unit=TimeUnit.DAYS)
    with np.errstate(all="ignore"):
        result = fit_clv(dataclasses.replace(summary, monetary_value=None), horizon=365.0)
    return dict(zip(result.customer_id.tolist(), result.p_alive.tolist(), strict=True))


async def test_refresh_stores_the_hand_computed_scores(database: Database) -> None:
    ids = await build_store(database)
    reports = await refresh_segments(database, now=NOW)
    report = reports["default"]
    assert (report.members, report.removed, report.clv_fitted) == (10, 0, True)
    # ten members are too few for Gamma-Gamma: no CLV, but BG/NBD gives P(alive). Where the
    # spend model's search gives up depends on the SciPy version's trust region (q <= 1,
    # or no convergence within its iterations): either way the problem is named.
    assert report.clv_problem is not None
    assert report.clv_problem.startswith("Gamma-Gamma"), report.clv_problem
    alive = reference_p_alive(ids)
    async with database.read() as session:
        for name, expected in EXPECTED.items():
            insights = await segment_service.member_insights(session, member_id=ids[name])
            scores = insights.scores
            assert insights.scored
            assert scores is not None
            assert (
                scores.recency_days, scores.frequency, scores.monetary, scores.recency_score,
                scores.frequency_score, scores.monetary_score, scores.rfm_segment,
            ) == expected, name  # fmt: skip
            groups = scores.groups
            assert (
                groups.high_value, groups.regular, groups.category_lover,
                groups.favourite_category,
            ) == GROUPS[name][:4], name  # fmt: skip
            assert groups.favourite_category_share == pytest.approx(GROUPS[name][4]), name
            assert scores.p_alive == pytest.approx(alive[ids[name]], rel=1e-9), name
            assert (scores.previous_p_alive, scores.horizon_days) == (None, 365)
            assert scores.currency == "RUB"
            assert scores.computed_at == NOW
            # the degenerate fit of ten members overflows: no finite expected purchases
            assert (scores.expected_purchases, scores.clv) == (None, None)
            assert scores.at_risk is False
        none = await segment_service.member_insights(session, member_id=ids["m11"])
        assert (none.scored, none.scores) == (False, None)
        with pytest.raises(MemberNotFoundError):
            await segment_service.member_insights(session, member_id=ids["m11"] + 100)


async def test_refresh_is_idempotent_and_carries_previous_p_alive(database: Database) -> None:
    ids = await build_store(database)
    await refresh_segments(database, now=NOW)
    first = await snapshot(database)
    await refresh_segments(database, now=NOW)
    assert await snapshot(database) == first
    later = NOW + timedelta(hours=5)  # the same UTC day: previous P(alive) stays
    await refresh_segments(database, now=later)
    same_day = await snapshot(database)
    assert [row["previous_p_alive"] for row in same_day] == [None] * 10
    next_day = NOW + timedelta(days=1)
    await refresh_segments(database, now=next_day)
    moved = await snapshot(database)
    assert [row["previous_p_alive"] for row in moved] == [row["p_alive"] for row in same_day]
    assert [row["recency_days"] for row in moved] == [EXPECTED[name][0] + 1 for name in HISTORY]
    for row in moved:  # the stored flag is the documented rule over the stored figures
        falling = row["previous_p_alive"] is None or row["p_alive"] < row["previous_p_alive"]
        flagged = row["is_high_value"] and row["p_alive"] < 0.5 and falling
        assert row["is_at_risk"] is flagged
    assert {row["member_id"] for row in moved} == {ids[name] for name in HISTORY}


async def test_daily_jobs_refresh_segments(database: Database) -> None:
    await build_store(database)
    report = await run_daily_jobs(database, now=NOW)
    segments = report.segments["default"]
    assert (segments["members"], segments["removed"], segments["clv_fitted"]) == (10, 0, True)
    assert report.to_dict()["segments"] == report.segments


async def test_select_members_by_segment_and_group(database: Database) -> None:
    ids = await build_store(database)
    await refresh_segments(database, now=NOW)
    program_id = await program_id_of(database, ids["m1"])
    async with database.read() as session:
        loyal = await segment_service.select_members(
            session, program_id=program_id, segment="loyal", limit=2
        )
        assert [item.member_id for item in loyal.items] == [ids["m3"], ids["m4"]]
        assert loyal.next_after == ids["m4"]
        rest = await segment_service.select_members(
            session, program_id=program_id, segment="loyal", after=loyal.next_after, limit=2
        )
        assert ([item.member_id for item in rest.items], rest.next_after) == ([ids["m5"]], None)
        high = await segment_service.select_members(
            session, program_id=program_id, group=SegmentGroup.HIGH_VALUE
        )
        assert [item.member_id for item in high.items] == [ids["m2"], ids["m9"]]
        regular_at_risk = await segment_service.select_members(
            session, program_id=program_id, segment="at_risk", group=SegmentGroup.REGULAR
        )
        assert regular_at_risk.items == []


async def program_id_of(database: Database, member_id: int) -> int:
    async with database.read() as session:
        return (await member_service.get_member(session, member_id=member_id)).program_id


async def purchase_id(database: Database, external_id: str) -> int:
    async with database.read() as session:
        query = select(Purchase.id).where(Purchase.external_id == external_id)
        return int((await session.execute(query)).scalar_one())


async def test_returns_change_the_scores_and_a_full_return_removes_the_row(
    database: Database,
) -> None:
    ids = await build_store(database)
    await refresh_segments(database, now=NOW)
    later = NOW + timedelta(days=1)
    tea_line = ReturnCreate(external_id="r-m2", lines=[ReturnLineCreate(line_no=1, quantity=1)])
    everything = ReturnCreate(external_id="r-m10")
    for purchase, data in (("m2-0", tea_line), ("m10-0", everything)):
        identifier = await purchase_id(database, purchase)
        async with database.write() as session:
            active = await program_service.get_active_program(session)
            await record_return(
                session, active=active, purchase_id=identifier, data=data, now=later
            )
    report = (await refresh_segments(database, now=later))["default"]
    assert (report.members, report.removed) == (9, 1)
    async with database.read() as session:
        gone = await segment_service.member_insights(session, member_id=ids["m10"])
        assert gone.scored is False
        m2 = (await segment_service.member_insights(session, member_id=ids["m2"])).scores
    assert m2 is not None
    # tea (3000.00) returned: 2000.00 of coffee is left, all of the line spend
    assert (m2.monetary, m2.recency_days, m2.frequency) == (200000, 4, 1)
    assert (m2.groups.favourite_category, m2.groups.favourite_category_share) == ("coffee", 1.0)


async def test_a_program_without_purchases(database: Database) -> None:
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="tests", now=NOW
        )
    report = (await refresh_segments(database, now=NOW))["default"]
    assert (report.members, report.removed, report.at_risk) == (0, 0, 0)
    assert (report.clv_fitted, report.clv_problem) == (False, "no purchases")
