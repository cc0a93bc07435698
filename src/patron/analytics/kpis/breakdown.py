"""The member-level figures per group: per tier, per segment, per any member → group frame.

A group's figures are the KPIs recomputed over its members only: enrolled, active,
participation; members' orders, net sales, AOV, frequency, repeat rate; points, liability and
reward cost; the retention of the window's last period. Members without a group fall in the
group ``"(none)"``. A member's group is the one it has now (tiers have no history here).
Everything is computed from the per-member frames of :mod:`.summary`, labelled once and split
by group, never by re-reading the purchases per group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from patron.analytics.kpis.inputs import KpiInputs, KpiSettings, Window
from patron.analytics.kpis.periods import keys_of
from patron.analytics.kpis.points import membership_figures, points_figures, valued_points
from patron.analytics.kpis.retention import retention_rows
from patron.analytics.kpis.sales import figures_of_customers
from patron.analytics.kpis.summary import MemberFrames

NO_GROUP = "(none)"


def tier_groups(members: pl.DataFrame) -> pl.DataFrame:
    return members.select("member_id", group=pl.col("tier"))


def _codes(labels: pl.DataFrame) -> pl.Series:
    """Group code by member id (an array indexed by id: a gather, not a join, per frame)."""
    size = int(labels.get_column("member_id").max() or 0) + 1  # type: ignore[arg-type]
    codes = pl.Series("code", np.full(size, -1, dtype=np.int32))
    return codes.scatter(labels.get_column("member_id"), labels.get_column("code"))


def _split(frame: pl.DataFrame, codes: pl.Series) -> dict[int, pl.DataFrame]:
    known = frame.filter(pl.col("member_id") < codes.len())
    coded = known.with_columns(code=codes.gather(known.get_column("member_id")))
    parts = coded.partition_by("code", as_dict=True)
    return {int(key[0]): part for key, part in parts.items()}


def breakdown(
    inputs: KpiInputs,
    settings: KpiSettings,
    window: Window,
    frames: MemberFrames,
    groups: pl.DataFrame,
) -> list[dict[str, Any]]:
    """One entry per group (sorted by name, ``(none)`` last)."""
    labels = (
        inputs.members.select("member_id")
        .join(
            groups.select("member_id", pl.col("group").cast(pl.String)), on="member_id", how="left"
        )
        .with_columns(pl.col("group").fill_null(NO_GROUP))
    )
    distinct = labels.get_column("group").unique().to_list()
    names = sorted(distinct, key=lambda n: (n == NO_GROUP, n))
    codes = _codes(
        labels.with_columns(
            code=pl.col("group").replace_strict(names, range(len(names)), return_dtype=pl.Int32)
        )
    )
    last_two = keys_of(window.start, window.end, settings.period)[-2:]
    recent = frames.pairs.filter(pl.col("period").is_in(list(last_two)))
    sources = (inputs.members, frames.totals, inputs.points, recent)
    parts = [_split(frame, codes) for frame in sources]
    rows = []
    for code, name in enumerate(names):
        members, totals, points, pairs = (
            part.get(code, frame.clear()) for part, frame in zip(parts, sources, strict=True)
        )
        figures = points_figures(points)
        ordered = pairs.sort("member_id", "period")
        last = retention_rows(ordered, frames.firsts.clear(), window, settings.period)[-1]
        rows.append(
            {
                "group": name,
                **membership_figures(members, window, totals.get_column("member_id")),
                "sales": figures_of_customers(totals).to_dict(),
                "points": figures | valued_points(figures, inputs, settings),
                "last_period": {
                    "period": last["period"],
                    "retention_rate": last.get("retention_rate"),
                    "churn_rate": last.get("churn_rate"),
                },
            }
        )
    return rows
