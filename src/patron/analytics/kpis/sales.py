"""Sales figures: net sales, average order value, purchase frequency, repeat-purchase rate;
members against non-members (and the lift), and a window against a baseline window.

Definitions (``docs/metrics.md``, section KPIs):
- The **net sales** of a purchase are ``total − shipping − returns``, where returns are the
  refunds of that purchase recorded before the window's end: a return lowers the purchase it
  belongs to, not the period it happened in.
- An **order** is a purchase in the window (a fully returned purchase still counts as one).
- **AOV** = net sales / orders; **purchase frequency** = orders / customers who bought;
  **repeat-purchase rate** = customers with two or more orders / customers who bought.
- A customer is a member (``member_id``); a purchase without a member has a customer only if
  the frame carries ``customer_key``. Without it non-members' frequency and repeat rate are
  unknown (None), their AOV is known.
- **Lift** of a figure = member figure / non-member figure − 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from patron.analytics.kpis.inputs import Window
from patron.analytics.kpis.periods import day_of


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; None when either is unknown or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def lift(member: float | None, other: float | None) -> float | None:
    value = ratio(member, other)
    return None if value is None else value - 1


def refunds_by_purchase(purchases: pl.DataFrame, returns: pl.DataFrame, end: Any) -> pl.Series:
    """Money refunded per purchase (aligned with ``purchases``) by returns before ``end``.

    Purchase ids are a sequence, so the refunds go into an array indexed by id and are
    gathered back (no join over millions of purchases); sparse ids fall back to a join.
    """
    counted = returns.filter(pl.col("occurred_at") < end)
    if counted.height == 0 or purchases.height == 0:
        return pl.Series("refunded", np.zeros(purchases.height, dtype=np.int64))
    ids = purchases.get_column("id").to_numpy()
    returned = counted.get_column("purchase_id").to_numpy()
    size = int(max(ids.max(), returned.max())) + 1
    if size > 4 * purchases.height + 1_000_000:
        totals = counted.group_by("purchase_id").agg(refunded=pl.col("amount").sum())
        joined = purchases.select("id").join(
            totals, left_on="id", right_on="purchase_id", how="left", maintain_order="left"
        )
        return joined.get_column("refunded").fill_null(0).alias("refunded")
    by_id = np.zeros(size, dtype=np.int64)
    np.add.at(by_id, returned, counted.get_column("amount").to_numpy())
    return pl.Series("refunded", by_id[ids])


def with_net_sales(purchases: pl.DataFrame, returns: pl.DataFrame, end: Any) -> pl.DataFrame:
    """Purchases before ``end`` with ``refunded`` by ``end``, ``net`` (minor units) and
    ``day`` (days since 1970-01-01, UTC)."""
    latest = purchases.get_column("occurred_at").max()
    before = (
        purchases
        if latest is None or latest < end
        else purchases.filter(pl.col("occurred_at") < end)
    )
    return before.with_columns(
        refunds_by_purchase(before, returns, end), day=day_of()
    ).with_columns(net=pl.col("total") - pl.col("shipping") - pl.col("refunded"))


@dataclass(frozen=True)
class SalesFigures:
    orders: int
    net_sales: int
    refunded: int
    customers: int | None
    repeat_customers: int | None
    average_order_value: float | None
    purchase_frequency: float | None
    repeat_purchase_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def customer_totals(sales: pl.DataFrame, customer: str) -> pl.DataFrame:
    """One row per customer: ``orders``, ``net``, ``refunded``."""
    return sales.group_by(customer).agg(
        orders=pl.len(), net=pl.col("net").sum(), refunded=pl.col("refunded").sum()
    )


def figures_of_customers(totals: pl.DataFrame) -> SalesFigures:
    """The figures of a :func:`customer_totals` frame."""
    row = totals.select(
        orders=pl.col("orders").sum(),
        net=pl.col("net").sum(),
        refunded=pl.col("refunded").sum(),
        repeat=(pl.col("orders") >= 2).sum(),
    ).row(0)
    orders, net, refunded, repeat = (int(value or 0) for value in row)
    customers = totals.height
    return SalesFigures(
        orders=orders,
        net_sales=net,
        refunded=refunded,
        customers=customers,
        repeat_customers=repeat,
        average_order_value=ratio(net, orders),
        purchase_frequency=ratio(orders, customers),
        repeat_purchase_rate=ratio(repeat, customers),
    )


def sales_figures(sales: pl.DataFrame, customer: str | None) -> SalesFigures:
    """The figures of the purchases in ``sales`` (already limited to a window and a group);
    ``customer`` names the column that identifies a buyer, None if buyers are anonymous."""
    if customer is not None:
        return figures_of_customers(customer_totals(sales, customer))
    orders = sales.height
    net = int(sales.get_column("net").sum()) if orders else 0
    refunded = int(sales.get_column("refunded").sum()) if orders else 0
    return SalesFigures(
        orders=orders,
        net_sales=net,
        refunded=refunded,
        customers=None,
        repeat_customers=None,
        average_order_value=ratio(net, orders),
        purchase_frequency=None,
        repeat_purchase_rate=None,
    )


FIGURE_COLUMNS = ("member_id", "net", "refunded", "occurred_at")


def in_window(sales: pl.DataFrame, window: Window) -> pl.DataFrame:
    """The sales in the window (the frame itself when they all are: no copy)."""
    times = sales.get_column("occurred_at")
    first, last = times.min(), times.max()
    if first is None or (first >= window.start and last < window.end):  # type: ignore[operator]
        return sales
    return sales.filter(window.contains("occurred_at"))


def _only(sales: pl.DataFrame, condition: pl.Expr, *extra: str) -> pl.DataFrame:
    """The rows that meet ``condition``, with the columns the figures read (no wide copy)."""
    wanted = [name for name in (*FIGURE_COLUMNS, *extra) if name in sales.columns]
    return sales.lazy().select(wanted).filter(condition).collect()


def member_sales(sales: pl.DataFrame) -> SalesFigures:
    return sales_figures(_only(sales, pl.col("member_id").is_not_null()), "member_id")


def non_member_sales(sales: pl.DataFrame) -> SalesFigures:
    key = "customer_key" if "customer_key" in sales.columns else None
    condition = pl.col("member_id").is_null()
    if key is not None:
        condition = condition & pl.col(key).is_not_null()
    guests = _only(sales, condition, *([key] if key else []))
    return sales_figures(guests, key)


def members_versus_non_members(
    sales: pl.DataFrame, members: SalesFigures | None = None
) -> dict[str, Any]:
    """Members' and non-members' figures over the purchases of one window, and the lifts
    (``members``: the members' figures when the caller has them already)."""
    members = members or member_sales(sales)
    others = non_member_sales(sales)
    compared = ("average_order_value", "purchase_frequency", "repeat_purchase_rate")
    return {
        "members": members.to_dict(),
        "non_members": others.to_dict(),
        "member_share_of_sales": ratio(members.net_sales, members.net_sales + others.net_sales),
        "lift": {name: lift(getattr(members, name), getattr(others, name)) for name in compared},
    }


def all_customers(sales: pl.DataFrame) -> SalesFigures:
    """Every purchase; customers are members plus keyed non-members (when keys exist)."""
    if "customer_key" in sales.columns:
        keyed = sales.with_columns(
            buyer=pl.when(pl.col("member_id").is_not_null())
            .then(pl.lit("m") + pl.col("member_id").cast(pl.String))
            .otherwise(pl.lit("k") + pl.col("customer_key").cast(pl.String))
        )
        return sales_figures(keyed, "buyer")
    figures = sales_figures(sales, None)
    return figures


def window_figures(
    sales: pl.DataFrame, window: Window, members: SalesFigures | None = None
) -> dict[str, Any]:
    """One window's figures: all purchases, members, non-members, and sales per day."""
    chosen = in_window(sales, window)
    total = all_customers(chosen)
    return {
        "from": window.start.date().isoformat(),
        "to_exclusive": window.end.date().isoformat(),
        "days": window.days,
        "all": total.to_dict(),
        "net_sales_per_day": ratio(total.net_sales, window.days),
        "orders_per_day": ratio(total.orders, window.days),
        **members_versus_non_members(chosen, members),
    }


def baseline_comparison(sales: pl.DataFrame, window: Window, baseline: Window) -> dict[str, Any]:
    """Before (the baseline the user names, e.g. the months before launch) against after
    (the reporting window): each figure of both, and ``change`` = after / before − 1."""
    before = window_figures(sales, baseline)
    after = window_figures(sales, window)
    keys = ("net_sales_per_day", "orders_per_day")
    change: dict[str, float | None] = {key: lift(after[key], before[key]) for key in keys}
    for part in ("all", "members", "non_members"):
        for name in ("average_order_value", "purchase_frequency", "repeat_purchase_rate"):
            change[f"{part}.{name}"] = lift(after[part][name], before[part][name])
    return {"before": before, "after": after, "change": change}
