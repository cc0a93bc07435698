"""All KPIs of one window in one plain, JSON-ready dictionary (:func:`compute_kpis`)."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from patron.analytics.kpis.breakdown import breakdown
from patron.analytics.kpis.inputs import KpiInputs, KpiSettings, Period, Window
from patron.analytics.kpis.points import (
    incremental_sales,
    membership_figures,
    points_figures,
    return_on_investment,
    valued_points,
)
from patron.analytics.kpis.retention import cohort_matrix, cohort_rows, retention_rows
from patron.analytics.kpis.sales import (
    baseline_comparison,
    figures_of_customers,
    window_figures,
    with_net_sales,
)
from patron.analytics.kpis.summary import member_frames
from patron.analytics.kpis.trends import trend_rows

RATE_DIGITS = 6


def compute_kpis(
    inputs: KpiInputs,
    settings: KpiSettings,
    window: Window,
    *,
    baseline: Window | None = None,
    groups: dict[str, pl.DataFrame] | None = None,
) -> dict[str, Any]:
    """Program, customer, member-versus-non-member, before/after and per-group KPIs.

    ``groups`` maps a breakdown name (``"tier"``, ``"segment"``) to a frame ``member_id``,
    ``group``. Integers stay exact; floats are rounded only by :func:`rounded`.
    """
    end = max(window.end, baseline.end) if baseline is not None else window.end
    sales = with_net_sales(inputs.purchases, inputs.returns, end)
    until_end = sales.filter(pl.col("occurred_at") < window.end) if baseline else sales
    frames = member_frames(until_end, window, settings.period)
    current = window_figures(until_end, window, figures_of_customers(frames.totals))
    compared = baseline_comparison(sales, window, baseline) if baseline is not None else None
    points = points_figures(inputs.points)
    valued = valued_points(points, inputs, settings)
    incremental = incremental_sales(current, compared)
    program = {
        **membership_figures(inputs.members, window, frames.totals.get_column("member_id")),
        "points": points | valued,
        "return_on_investment": return_on_investment(incremental, valued["reward_cost"], settings),
    }
    report: dict[str, Any] = {
        "window": {
            "from": window.start.date().isoformat(),
            "to_exclusive": window.end.date().isoformat(),
            "period": settings.period.value,
        },
        "program": program,
        "customers": {
            "sales": current,
            "periods": retention_rows(frames.pairs, frames.firsts, window, settings.period),
            "trends": trend_rows(until_end, window, settings.period),
            "cohorts": (
                cohort_rows(frames.pairs, frames.firsts, window)
                if settings.period is Period.MONTH
                else cohort_matrix(until_end, window)
            ),
        },
        "baseline": compared,
        "breakdown": {
            name: breakdown(inputs, settings, window, frames, frame)
            for name, frame in (groups or {}).items()
        },
    }
    return report


def rounded(value: Any, digits: int = RATE_DIGITS) -> Any:
    """The report with every float rounded to ``digits`` places (non-finite become None)."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item, digits) for item in value]
    return value
