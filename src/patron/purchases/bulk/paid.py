"""What the lines of imported purchases were paid, vectorised, as recording computes it
(:mod:`patron.rules.allocation`): each line's net value (its amount less its discount), the
sum per purchase (checked against the total), and the order-level discount spread over the
lines. Most files have no order-level discount: then a line was paid its net value and no
grouping or join is needed."""

from __future__ import annotations

import numpy as np
import polars as pl

from patron.purchases.bulk.validate import MAX_QUANTITY
from patron.rules.allocation import allocate
from patron.rules.errors import ScoringOverflowError
from patron.rules.frame_inputs import KEY, order_discount, spread_order_discounts


def line_net(quantity: str) -> pl.Expr:
    """A line's amount less its discount (Int128); null where a value is invalid (a quantity
    out of range, a discount above the amount)."""
    amount = pl.col(quantity).cast(pl.Int128) * pl.col("unit_price_minor").cast(pl.Int128)
    discount = pl.col("discount_minor").cast(pl.Int128)
    valid = pl.col(quantity).is_between(1, MAX_QUANTITY) & (discount <= amount)
    return pl.when(valid).then(amount - discount)


def purchase_nets(rows: pl.DataFrame, starts: np.ndarray) -> pl.Series:
    """The sum of the line nets of each purchase, its rows contiguous from ``starts``
    (null when one of its lines is invalid): running sums read at the purchases' ends, no
    grouping."""
    nets = rows.select(line_net("quantity_number").alias("net"))["net"]
    if not len(starts):
        return nets.clear()
    ends = np.append(starts[1:], rows.height) - 1
    running = nets.fill_null(0).cum_sum()
    before = running.shift(1, fill_value=0)
    bad = nets.is_null().cast(pl.Int64).cum_sum()
    bad_before = bad.shift(1, fill_value=0)
    sums = running.gather(ends) - before.gather(starts)
    invalid = (bad.gather(ends) - bad_before.gather(starts)) > 0
    return pl.select(pl.when(invalid.not_()).then(sums).alias("net")).to_series()


def with_paid(lines: pl.DataFrame, purchases: pl.DataFrame) -> pl.DataFrame:
    """``lines`` (``seq``, ``quantity``, ``unit_price_minor``, ``discount_minor``, in line
    order) with ``paid_minor``; ``purchases``: ``seq``, ``net`` (:func:`purchase_nets`),
    ``total_minor``, ``shipping_minor``."""
    net = line_net("quantity").alias("amount")
    discounted = purchases.select(
        pl.col("seq").alias(KEY),
        pl.col("net").alias("goods"),
        pl.col("total_minor").alias("total"),
        pl.col("shipping_minor").alias("shipping"),
    ).filter(order_discount("goods") > 0)
    if not discounted.height:
        return lines.with_columns(net.cast(pl.Int64, strict=False).alias("paid_minor"))
    discounted = discounted.select(KEY, "goods", order_discount("goods").alias("order_discount"))
    keyed = lines.select(pl.col("seq").alias(KEY), net)
    try:
        paid = spread_order_discounts(keyed, discounted)["amount"]
    except ScoringOverflowError:  # amounts beyond 2**63: the exact Python rule
        paid = _paid_one_by_one(keyed, discounted)
    return lines.with_columns(paid.cast(pl.Int64, strict=False).alias("paid_minor"))


def _paid_one_by_one(lines: pl.DataFrame, discounted: pl.DataFrame) -> pl.Series:
    """What each line was paid, purchase by purchase with :func:`allocate` (only for amounts
    too large for the vectorised spread)."""
    cut = dict(discounted.select(KEY, "order_discount").iter_rows())
    paid: list[int | None] = []
    for (key,), group in lines.group_by(KEY, maintain_order=True):
        nets = group["amount"].to_list()
        if key not in cut or None in nets:
            paid.extend(nets)
            continue
        shares = allocate(nets, min(cut[key], sum(nets)))
        paid.extend(net - share for net, share in zip(nets, shares, strict=True))
    return pl.Series("amount", paid, dtype=pl.Int128)
