"""Orders and net sales per period, members and non-members apart (the report's trend chart)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from patron.analytics.kpis.inputs import Period, Window
from patron.analytics.kpis.periods import keys_of, period_keys, start_of


def trend_rows(sales: pl.DataFrame, window: Window, period: Period) -> list[dict[str, Any]]:
    """One row per period of the window: ``member_orders``, ``member_net_sales``,
    ``non_member_orders``, ``non_member_net_sales`` (purchases in the window only)."""
    keys = keys_of(window.start, window.end, period)
    chosen = sales.lazy().select("member_id", "net", "day", "occurred_at")
    inside = chosen.filter(window.contains("occurred_at")).collect()
    slot = period_keys(inside.get_column("day").to_numpy(), period) - keys.start
    is_member = inside.get_column("member_id").is_not_null().to_numpy()
    net = inside.get_column("net").to_numpy()
    width = len(keys)
    figures: dict[str, np.ndarray] = {}
    for prefix, mask in (("member", is_member), ("non_member", ~is_member)):
        figures[f"{prefix}_orders"] = np.bincount(slot[mask], minlength=width)
        total = np.zeros(width, dtype=np.int64)
        np.add.at(total, slot[mask], net[mask])
        figures[f"{prefix}_net_sales"] = total
    return [
        {"period": start_of(key, period).isoformat()}
        | {name: int(values[index]) for name, values in figures.items()}
        for index, key in enumerate(keys)
    ]
