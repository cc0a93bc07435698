"""Simulation use cases: replay a history file or the database's purchases under a proposed
program, and under a baseline (the active program, or a second file) to compare.

The money side (docs/simulator.md): a share ``r`` of the points issued is expected to be
redeemed (the redemption rate: ``--redemption-rate``, else the database's redeemed /
earned points when members have redeemed any, else :data:`DEFAULT_REDEMPTION_RATE`); each
redeemed point costs the catalogue's value per point ``v`` (:mod:`.economics`). So

- expected redemptions = round(r x issued) points, costing round(r x issued x v);
- expected breakage = issued - expected redemptions;
- liability at a month end = round(outstanding x r x v), outstanding = pending + available
  (points earned and not expired; the replay does not guess when members redeem).

Money is in minor units, rounded half up once per figure.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from patron.programs import service as program_service
from patron.programs.schema import Program
from patron.simulator.balances import Month, PointSeries, added, month_grid, point_series
from patron.simulator.campaign_report import campaign_reports
from patron.simulator.economics import reward_values, round_half_up, value_per_point
from patron.simulator.errors import SimulationInputError
from patron.simulator.history import History, history_from_file, history_from_rows
from patron.simulator.replay import Replay, micros, replay
from patron.simulator.repository import SimulatorRepository
from patron.simulator.schemas import (
    CampaignReport,
    MonthReport,
    NotProjectedReport,
    ProgramRun,
    RewardReport,
    SimulationReport,
    Totals,
    decimal_text,
)
from patron.simulator.trigger_occurrences import TriggerData
from patron.simulator.trigger_projection import project_triggers

DEFAULT_REDEMPTION_RATE = Fraction(7, 10)


def _months(program: Program, history: History) -> list[Month]:
    if not history.purchases.height:
        return []
    first, last = history.purchases.select(
        pl.col("at").min().alias("first"), pl.col("at").max().alias("last")
    ).row(0)
    return month_grid(program.program.timezone, first, last)


def _per_month(frame: pl.DataFrame, column: str, months: list[Month]) -> np.ndarray:
    """``column`` of ``frame`` summed by the month of its ``at`` (one more for after)."""
    ends = np.asarray([micros(month.end) for month in months], dtype=np.int64)
    found = np.zeros(len(months) + 1, dtype=np.int64)
    at = frame["at"].dt.epoch("us").to_numpy()
    np.add.at(found, np.searchsorted(ends, at, side="right"), frame[column].to_numpy())
    return found


def _month_reports(
    result: Replay,
    series: PointSeries,
    months: list[Month],
    rate: Fraction,
    value: Fraction,
    lots: pl.DataFrame,
) -> list[MonthReport]:
    found: list[MonthReport] = []
    triggered = _per_month(lots, "points", months)
    campaign_points = _per_month(result.purchases, "campaign_points", months) + triggered
    for index, month in enumerate(months):
        pending, available = int(series.pending[index]), int(series.available[index])
        issued = int(series.issued[index])
        found.append(
            MonthReport(
                month=month.label,
                end=month.end,
                points_issued=issued,
                points_expired=int(series.expired[index]),
                points_pending=pending,
                points_available=available,
                points_outstanding=pending + available,
                expected_redemption_cost=round_half_up(issued * rate * value),
                liability=round_half_up((pending + available) * rate * value),
                tiers=dict(zip(result.tiers, result.month_counts[index].tolist(), strict=True)),
                points_from_campaigns=int(campaign_points[index]),
                points_from_other_triggers=int(triggered[index]),
            )
        )
    return found


def _totals(
    result: Replay,
    months: list[MonthReport],
    rate: Fraction,
    value: Fraction,
    later: int,
    triggered: int,
) -> Totals:
    purchases = result.purchases
    issued = int(purchases["points"].sum()) + triggered
    from_campaigns = int(purchases["campaign_points"].sum()) + triggered
    redeemed = round_half_up(issued * rate)
    last = months[-1] if months else None
    outstanding = last.points_outstanding if last else 0
    return Totals(
        purchases=purchases.height,
        members=purchases["member"].n_unique(),
        points_issued=issued,
        points_expired=sum(month.points_expired for month in months),
        points_pending=last.points_pending if last else 0,
        points_available=last.points_available if last else 0,
        points_outstanding=outstanding,
        points_expiring_later=later,
        expected_redeemed_points=redeemed,
        expected_redemption_cost=round_half_up(issued * rate * value),
        expected_breakage_points=issued - redeemed,
        liability=round_half_up(outstanding * rate * value),
        points_from_rules=issued - from_campaigns,
        points_from_campaigns=from_campaigns,
        points_from_other_triggers=triggered,
    )


def run_program(
    program: Program,
    history: History,
    months: list[Month],
    *,
    rate: Fraction,
    spent: Mapping[str, int] | None = None,
    seeds: dict[str, str] | None = None,
    data: TriggerData | None = None,
) -> ProgramRun:
    """Replay ``history`` under ``program`` and price it (see the module docstring);
    ``seeds``: the committed seeds of prize campaigns, ``data`` the members and events
    for the campaigns on other triggers (a database's)."""
    ends = [month.end for month in months]
    result = replay(program, history, ends, seeds=seeds)
    campaigns: list[CampaignReport] = []
    not_projected: list[NotProjectedReport] = []
    if result.campaigns is not None:
        campaigns, not_projected = campaign_reports(
            program, result.campaigns, result.campaign_facts, result.campaign_run
        )
    projection = project_triggers(program, result.purchases, ends, data)
    campaigns += projection.reports
    not_projected += [
        NotProjectedReport(item.key, item.trigger, item.reason) for item in projection.not_projected
    ]
    values = reward_values(program, history, spent)
    value = value_per_point(values)
    ends_us = [micros(moment) for moment in ends]
    series = added(point_series(result.purchases, ends_us), point_series(projection.lots, ends_us))
    reports = _month_reports(result, series, months, rate, value, projection.lots)
    triggered = int(projection.lots["points"].sum())
    return ProgramRun(
        name=program.program.name,
        currency=program.currency,
        value_per_point=decimal_text(value),
        rewards=[
            RewardReport(
                code=item.code,
                kind=item.kind.value,
                cost_points=item.cost_points,
                value=item.value,
                basis=item.basis,
                weight=decimal_text(item.weight),
                value_per_point=decimal_text(item.per_point),
            )
            for item in values
        ],
        totals=_totals(result, reports, rate, value, series.expiring_later, triggered),
        months=reports,
        tiers=result.tiers,
        scoring_rounds=result.rounds,
        campaigns=campaigns,
        campaigns_not_projected=not_projected,
    )


def _check_rate(rate: Fraction) -> Fraction:
    if not 0 <= rate <= 1:
        raise SimulationInputError(
            "the redemption rate must be between 0 and 1", field="redemption_rate"
        )
    return rate


def _check_baseline(program: Program, baseline: Program | None) -> None:
    if baseline is not None and baseline.currency != program.currency:
        raise SimulationInputError(
            f"the baseline program is in {baseline.currency}, the proposed one in "
            f"{program.currency}",
            field="baseline",
            params={"baseline": baseline.currency, "currency": program.currency},
        )


def simulate_history(
    path: Path,
    *,
    program: Program,
    baseline: Program | None = None,
    baseline_source: str | None = None,
    redemption_rate: Fraction | None = None,
) -> SimulationReport:
    """Simulate ``program`` over the purchase file ``path`` (the columns of ``patron import
    purchases``), compared with ``baseline`` when given."""
    started = time.perf_counter()
    _check_baseline(program, baseline)
    rate = _check_rate(DEFAULT_REDEMPTION_RATE if redemption_rate is None else redemption_rate)
    history = history_from_file(path, program.currency)
    report = _report(
        history,
        program=program,
        baseline=baseline,
        baseline_source=baseline_source,
        rate=rate,
        rate_source="default" if redemption_rate is None else "option",
        spent=None,
        kind="history",
    )
    report.seconds = time.perf_counter() - started
    return report


async def simulate_database(
    session: AsyncSession,
    *,
    program: Program,
    key: str = program_service.DEFAULT_KEY,
    redemption_rate: Fraction | None = None,
) -> SimulationReport:
    """Simulate ``program`` over the purchases of the database's program ``key``, compared
    with that program's active version. Reads only."""
    started = time.perf_counter()
    active = await program_service.get_active_program(session, key=key)
    _check_baseline(program, active.program)
    repository = SimulatorRepository(session)
    history = history_from_rows(
        await repository.purchases(active.program_id),
        await repository.lines(active.program_id),
        f"program '{key}'",
    )
    earned, redeemed = await repository.earned_and_redeemed(active.program_id)
    if redemption_rate is not None:
        rate, source = _check_rate(redemption_rate), "option"
    elif redeemed > 0 and earned > 0:
        rate, source = Fraction(min(redeemed, earned), earned), "database"
    else:
        rate, source = DEFAULT_REDEMPTION_RATE, "default"
    report = _report(
        history,
        program=program,
        baseline=active.program,
        baseline_source=f"active program '{key}' version {active.version}",
        rate=rate,
        rate_source=source,
        spent=await repository.points_spent_per_reward(active.program_id),
        kind="database",
        seeds=await repository.seeds(active.program_id),
        data=await repository.trigger_data(active.program_id),
    )
    report.seconds = time.perf_counter() - started
    return report


def _report(
    history: History,
    *,
    program: Program,
    baseline: Program | None,
    baseline_source: str | None,
    rate: Fraction,
    rate_source: str,
    spent: Mapping[str, int] | None,
    kind: str,
    seeds: dict[str, str] | None = None,
    data: TriggerData | None = None,
) -> SimulationReport:
    months = _months(program, history)
    proposed = run_program(program, history, months, rate=rate, spent=spent, seeds=seeds, data=data)
    compared = None
    if baseline is not None:
        compared = run_program(
            baseline, history, months, rate=rate, spent=spent, seeds=seeds, data=data
        )
    bounds = history.purchases.select(
        pl.col("at").min().alias("first"), pl.col("at").max().alias("last")
    ).row(0)
    return SimulationReport(
        source=history.source,
        source_kind=kind,
        purchases=history.purchases.height,
        refused_purchases=history.refused_purchases,
        first_purchase_at=bounds[0],
        last_purchase_at=bounds[1],
        redemption_rate=decimal_text(rate),
        redemption_rate_source=rate_source,
        proposed=proposed,
        baseline=compared,
        baseline_source=baseline_source if baseline is not None else None,
        errors=history.errors,
    )
