"""All KPIs of one window in one plain, JSON-ready dictionary (:func:`compute_kpis`)."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from patron.analytics.kpis.breakdown import breakdown
from patron.analytics.kpis.inputs import KpiInputs, KpiSettings, Window
from patron.analytics.kpis.points import (
    incremental_sales,
    membership_figures,
    points_figures,
    return_on_investment,
    valued_points,
)
from patron.analytics.kpis.retention import cohort_matrix, retention_by_period
from patron.analytics.kpis.sales import baseline_comparison, window_figures, with_net_sales

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
    sales_to_window_end = sales.filter(pl.col("occurred_at") < window.end)
    current = window_figures(sales_to_window_end, window)
    compared = baseline_comparison(sales, window, baseline) if baseline is not None else None
    buyers = current_buyers(sales_to_window_end, window)
    points = points_figures(inputs.points)
    valued = valued_points(points, inputs, settings)
    incremental = incremental_sales(current, compared)
    program = {
        **membership_figures(inputs.members, window, buyers),
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
            "periods": retention_by_period(sales_to_window_end, window, settings.period),
            "cohorts": cohort_matrix(sales_to_window_end, window),
        },
        "baseline": compared,
        "breakdown": {
            name: breakdown(inputs, settings, window, sales_to_window_end, frame)
            for name, frame in (groups or {}).items()
        },
    }
    return report


def current_buyers(sales: pl.DataFrame, window: Window) -> pl.Series:
    return (
        sales.filter(window.contains("occurred_at") & pl.col("member_id").is_not_null())
        .get_column("member_id")
        .unique()
    )


def rounded(value: Any, digits: int = RATE_DIGITS) -> Any:
    """The report with every float rounded to ``digits`` places (non-finite become None)."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item, digits) for item in value]
    return value
