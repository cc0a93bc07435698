"""The member-level figures per group: per tier, per segment, per any member → group frame.

A group's figures are the KPIs recomputed over its members only: enrolled, active,
participation; members' orders, net sales, AOV, frequency, repeat rate; points, liability and
reward cost; the retention of the window's last period. Members without a group fall in the
group ``"(none)"``. A member's group is the one it has now (tiers have no history here).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from patron.analytics.kpis.inputs import KpiInputs, KpiSettings, Window
from patron.analytics.kpis.points import membership_figures, points_figures, valued_points
from patron.analytics.kpis.retention import retention_by_period
from patron.analytics.kpis.sales import in_window, member_sales

NO_GROUP = "(none)"


def tier_groups(members: pl.DataFrame) -> pl.DataFrame:
    return members.select("member_id", group=pl.col("tier"))


def breakdown(
    inputs: KpiInputs,
    settings: KpiSettings,
    window: Window,
    sales: pl.DataFrame,
    groups: pl.DataFrame,
) -> list[dict[str, Any]]:
    """One entry per group (sorted by name, ``(none)`` last)."""
    labelled = (
        inputs.members.select("member_id")
        .join(
            groups.select("member_id", pl.col("group").cast(pl.String)), on="member_id", how="left"
        )
        .with_columns(pl.col("group").fill_null(NO_GROUP))
    )
    names = sorted(set(labelled.get_column("group").to_list()), key=lambda n: (n == NO_GROUP, n))
    chosen = in_window(sales, window)
    rows = []
    for name in names:
        ids = labelled.filter(pl.col("group") == name).get_column("member_id").implode()
        group_sales = sales.filter(pl.col("member_id").is_in(ids))
        window_sales = chosen.filter(pl.col("member_id").is_in(ids))
        points = points_figures(inputs.points.filter(pl.col("member_id").is_in(ids)))
        periods = retention_by_period(group_sales, window, settings.period)
        last = periods[-1]
        members = membership_figures(
            inputs.members.filter(pl.col("member_id").is_in(ids)),
            window,
            window_sales.get_column("member_id").unique(),
        )
        rows.append(
            {
                "group": name,
                **members,
                "sales": member_sales(window_sales).to_dict(),
                "points": points | valued_points(points, inputs, settings),
                "last_period": {
                    "period": last["period"],
                    "retention_rate": last.get("retention_rate"),
                    "churn_rate": last.get("churn_rate"),
                },
            }
        )
    return rows
