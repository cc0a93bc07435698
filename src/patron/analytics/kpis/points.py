"""Program figures: members, participation, points, liability, reward cost and ROI.

Definitions (``docs/metrics.md``):
- **Enrolled** = members enrolled before the window's end; **active** = enrolled members who
  bought in the window; **participation rate** = active / enrolled.
- Points follow the ledger's own counters (:mod:`patron.ledger.lots`): **issued** = earn +
  bonus + positive adjustments + reversals (returns take points back, so issued is net of
  them); **redeemed** = −Σ redeem entries (a cancelled coupon's refund lowers it);
  **expired** = −Σ expire entries. **opening** = the opening balances imported with members
  (``opening`` entries), apart: they are not points the program issued. **Redemption
  rate** = redeemed / issued, **breakage** = expired / issued, both within the window.
- **Outstanding** = Σ over members of max(balance at the window's end, 0) (available and
  pending; a member in debt owes points, which is no liability).
- **Expected redemption rate** (ERR): set in the settings, else the share of settled points
  that were redeemed: redeemed / (redeemed + expired) from the start to the window's end
  (1.0 when nothing has settled yet: the prudent assumption).
- **Point value** (minor units per point): set in the settings, else Σ value / Σ points of the
  money-valued coupons issued (fixed discounts, gift certificates, cashback), else of the
  money-valued rewards of the program's catalogue.
- **Liability** = outstanding × point value × ERR; **reward cost** = redeemed × point value;
  **program cost** = reward cost + operating cost; both rounded to whole minor units.
- **ROI** = (incremental gross margin − program cost) / program cost, with incremental gross
  margin = incremental net sales × margin rate (see :func:`incremental_sales`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

from patron.analytics.kpis.inputs import POINTS, KpiInputs, KpiSettings, Window
from patron.analytics.kpis.sales import ratio
from patron.ledger.kinds import EntryKind

ISSUED_KINDS = (EntryKind.EARN, EntryKind.BONUS, EntryKind.REVERSE)


def whole(value: float | None) -> int | None:
    """A money figure rounded to whole minor units, half up."""
    if value is None:
        return None
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def member_points(entries: pl.DataFrame, window: Window) -> pl.DataFrame:
    """The per-member ``points`` frame from ledger entries (``member_id``, ``kind``,
    ``amount``, ``occurred_at``)."""
    kind, amount = pl.col("kind"), pl.col("amount")
    inside = window.contains("occurred_at")
    issued = kind.is_in([k.value for k in ISSUED_KINDS]) | (
        (kind == EntryKind.ADJUST) & (amount > 0)
    )

    def total(condition: pl.Expr, sign: int = 1) -> pl.Expr:
        return (pl.when(condition).then(amount * sign).otherwise(0)).sum()

    frame = (
        entries.lazy()
        .filter(pl.col("occurred_at") < window.end)
        .group_by("member_id")
        .agg(
            issued=total(issued & inside),
            redeemed=total((kind == EntryKind.REDEEM) & inside, -1),
            expired=total((kind == EntryKind.EXPIRE) & inside, -1),
            balance=amount.sum(),
            redeemed_to_date=total(kind == EntryKind.REDEEM, -1),
            expired_to_date=total(kind == EntryKind.EXPIRE, -1),
            opening=total((kind == EntryKind.OPENING) & inside),
        )
        .collect()
    )
    return frame.cast(POINTS)  # type: ignore[arg-type]


def point_value(inputs: KpiInputs, settings: KpiSettings) -> tuple[float | None, str]:
    """Minor units per point and where that figure comes from."""
    if settings.point_value is not None:
        return settings.point_value, "settings"
    values = inputs.reward_values
    points = int(values.get_column("cost_points").sum()) if values.height else 0
    if points == 0:
        return None, "none"
    return int(values.get_column("value").sum()) / points, inputs.reward_values_source


def _sum(frame: pl.DataFrame, column: str) -> int:
    return int(frame.get_column(column).sum()) if frame.height else 0


def points_figures(points: pl.DataFrame) -> dict[str, Any]:
    issued, redeemed, expired = (_sum(points, c) for c in ("issued", "redeemed", "expired"))
    outstanding = _sum(points.filter(pl.col("balance") > 0), "balance")
    settled_redeemed = _sum(points, "redeemed_to_date")
    settled_expired = _sum(points, "expired_to_date")
    return {
        "issued": issued,
        "redeemed": redeemed,
        "expired": expired,
        "redemption_rate": ratio(redeemed, issued),
        "breakage_rate": ratio(expired, issued),
        "outstanding": outstanding,
        "redeemed_to_date": settled_redeemed,
        "expired_to_date": settled_expired,
        "opening": _sum(points, "opening"),
    }


def expected_redemption_rate(figures: dict[str, Any], settings: KpiSettings) -> tuple[float, str]:
    if settings.expected_redemption_rate is not None:
        return settings.expected_redemption_rate, "settings"
    settled = figures["redeemed_to_date"] + figures["expired_to_date"]
    if settled == 0:
        return 1.0, "default"
    return figures["redeemed_to_date"] / settled, "settled_points"


def membership_figures(members: pl.DataFrame, window: Window, buyers: pl.Series) -> dict[str, Any]:
    """Enrolled, newly enrolled, active members and the participation rate."""
    enrolled = members.filter(pl.col("enrolled_at") < window.end)
    new = enrolled.filter(pl.col("enrolled_at") >= window.start).height
    active = enrolled.filter(pl.col("member_id").is_in(buyers.implode())).height
    return {
        "enrolled": enrolled.height,
        "newly_enrolled": new,
        "active": active,
        "participation_rate": ratio(active, enrolled.height),
    }


def valued_points(
    figures: dict[str, Any], inputs: KpiInputs, settings: KpiSettings
) -> dict[str, Any]:
    """Liability and reward cost of the given points figures, in minor units."""
    value, value_source = point_value(inputs, settings)
    err, err_source = expected_redemption_rate(figures, settings)
    liability = None if value is None else figures["outstanding"] * value * err
    reward_cost = None if value is None else figures["redeemed"] * value
    return {
        "point_value": value,
        "point_value_source": value_source,
        "expected_redemption_rate": err,
        "expected_redemption_rate_source": err_source,
        "liability": whole(liability),
        "reward_cost": whole(reward_cost),
    }


def return_on_investment(
    incremental: dict[str, Any], reward_cost: int | None, settings: KpiSettings
) -> dict[str, Any]:
    """ROI = (incremental net sales × margin rate − program cost) / program cost."""
    program_cost = None if reward_cost is None else reward_cost + settings.operating_cost
    margin = (
        None
        if settings.margin_rate is None or incremental["net_sales"] is None
        else incremental["net_sales"] * settings.margin_rate
    )
    roi = None
    if margin is not None and program_cost:
        roi = (margin - program_cost) / program_cost
    return {
        "margin_rate": settings.margin_rate,
        "incremental_net_sales": whole(incremental["net_sales"]),
        "incremental_method": incremental["method"],
        "incremental_gross_margin": whole(margin),
        "operating_cost": settings.operating_cost,
        "program_cost": program_cost,
        "roi": roi,
    }


def incremental_sales(
    window_figures: dict[str, Any], baseline: dict[str, Any] | None
) -> dict[str, Any]:
    """The net sales the program added in the window.

    - With a baseline (``before_after``): (net sales per day in the window − net sales per day
      in the baseline) × days of the window.
    - Without (``member_aov_uplift``): member orders × (member AOV − non-member AOV), the extra
      spend per member order (non-members' frequency is unknown without customer keys).
    """
    if baseline is not None:
        after, before = baseline["after"], baseline["before"]
        if after["net_sales_per_day"] is None or before["net_sales_per_day"] is None:
            return {"net_sales": None, "method": "before_after"}
        extra = (after["net_sales_per_day"] - before["net_sales_per_day"]) * after["days"]
        return {"net_sales": extra, "method": "before_after"}
    members, others = window_figures["members"], window_figures["non_members"]
    if members["average_order_value"] is None or others["average_order_value"] is None:
        return {"net_sales": None, "method": "member_aov_uplift"}
    uplift = members["average_order_value"] - others["average_order_value"]
    return {"net_sales": members["orders"] * uplift, "method": "member_aov_uplift"}
