"""Validation and normalisation of the frames given to the vectorised evaluator.

Purchases (one row each):

=================  ==========================================================================
``purchase_id``    the purchase key (any non-null, unique dtype; the name is configurable)
``member_id``      the member key (nullable: a purchase without a member; configurable name;
                   optional column)
``occurred_at``    ``Datetime``, UTC (a naive value is taken as UTC; another zone is converted)
``total``          integer minor units paid, shipping included (>= 0)
``shipping``       integer minor units (>= 0; optional, 0 when absent)
``channel``        string, nullable (optional)
``store``          string, nullable (optional)
``tier_id``        the member's tier id at the moment of the purchase, nullable (optional)
=================  ==========================================================================

Lines (any number per purchase, in the purchase's line order): the purchase key, ``sku``
(string), ``category`` (string, nullable), ``quantity`` (integer > 0), ``unit_price``
(integer minor units >= 0) and ``discount`` (integer minor units off the whole line, from 0 to
``quantity x unit_price``; optional, 0 when absent). Each line is scored on what it was paid:
:func:`with_paid_amounts` spreads the order-level discount exactly as
:mod:`patron.rules.allocation` does.

Prior usage (optional): the member key, ``rule_id``, ``period_key`` (as
:func:`patron.rules.periods.limit_period_key` writes it) and ``used`` (integer >= 0): how many
times the rule applied to the member in that period before the purchases in the frame.
"""

from __future__ import annotations

import polars as pl

from patron.rules.errors import ScoringInputError, ScoringOverflowError

KEY, MEMBER, ROW = "key", "member", "row"


def _require(frame: pl.DataFrame, columns: list[str], what: str) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ScoringInputError(f"{what} frame lacks columns {missing}", field=missing[0])


def _require_true(frame: pl.DataFrame, check: pl.Expr, message: str, field: str) -> None:
    if frame.height and not frame.select(check.all()).item():
        raise ScoringInputError(message, field=field)


def _optional(frame: pl.DataFrame, name: str, default: pl.Expr) -> pl.Expr:
    return pl.col(name) if name in frame.columns else default


def _utc(frame: pl.DataFrame) -> pl.Expr:
    dtype = frame.schema["occurred_at"]
    if not isinstance(dtype, pl.Datetime):
        raise ScoringInputError("occurred_at must be a Datetime column", field="occurred_at")
    column = pl.col("occurred_at")
    if dtype.time_zone is None:
        return column.dt.replace_time_zone("UTC")
    return column.dt.convert_time_zone("UTC")


def prepare_purchases(
    purchases: pl.DataFrame, *, purchase_key: str, member_key: str
) -> pl.DataFrame:
    """Internal columns: key, member, row, at, total, shipping, channel, store, tier."""
    _require(purchases, [purchase_key, "occurred_at", "total"], "purchases")
    prepared = purchases.select(
        pl.col(purchase_key).alias(KEY),
        _optional(purchases, member_key, pl.lit(None)).alias(MEMBER),
        pl.int_range(pl.len(), dtype=pl.Int64).alias(ROW),
        _utc(purchases).alias("at"),
        pl.col("total").cast(pl.Int64, strict=True).alias("total"),
        _optional(purchases, "shipping", pl.lit(0)).cast(pl.Int64, strict=True).alias("shipping"),
        _optional(purchases, "channel", pl.lit(None)).cast(pl.String).alias("channel"),
        _optional(purchases, "store", pl.lit(None)).cast(pl.String).alias("store"),
        _optional(purchases, "tier_id", pl.lit(None)).cast(pl.String).alias("tier"),
    )
    _require_true(prepared, pl.col(KEY).is_not_null(), "a purchase key is null", purchase_key)
    _require_true(prepared, pl.col(KEY).is_unique(), "purchase keys repeat", purchase_key)
    _require_true(prepared, pl.col("at").is_not_null(), "occurred_at is null", "occurred_at")
    for name in ("total", "shipping"):
        _require_true(
            prepared, pl.col(name).is_not_null() & (pl.col(name) >= 0), f"{name} < 0", name
        )
    return prepared


def prepare_lines(
    lines: pl.DataFrame, purchases: pl.DataFrame, *, purchase_key: str
) -> pl.DataFrame:
    """Internal columns: key, sku, category, amount (Int128 minor units: what the line was
    paid, see :func:`with_paid_amounts`)."""
    _require(lines, [purchase_key, "sku", "category", "quantity", "unit_price"], "lines")
    key_dtype = purchases.schema[KEY]
    prepared = lines.select(
        pl.col(purchase_key).cast(key_dtype, strict=True).alias(KEY),
        pl.col("sku").cast(pl.String),
        pl.col("category").cast(pl.String),
        pl.col("quantity").cast(pl.Int64, strict=True),
        pl.col("unit_price").cast(pl.Int64, strict=True),
        _optional(lines, "discount", pl.lit(0)).cast(pl.Int64, strict=True).alias("discount"),
    )
    _require_true(prepared, pl.col("sku").is_not_null(), "a line has no sku", "sku")
    _require_true(prepared, pl.col("quantity").fill_null(0) > 0, "quantity must be > 0", "quantity")
    price_ok = pl.col("unit_price").fill_null(-1) >= 0
    _require_true(prepared, price_ok, "unit_price must be >= 0", "unit_price")
    orphans = prepared.join(purchases.select(KEY), on=KEY, how="anti")
    if orphans.height:
        raise ScoringInputError("lines refer to purchases not in the frame", field=purchase_key)
    amount = pl.col("quantity").cast(pl.Int128) * pl.col("unit_price").cast(pl.Int128)
    discount = pl.col("discount").fill_null(-1)
    discount_ok = (discount >= 0) & (discount.cast(pl.Int128) <= amount)
    _require_true(prepared, discount_ok, "discount must be from 0 to the line amount", "discount")
    net = (amount - pl.col("discount").cast(pl.Int128)).alias("amount")
    return with_paid_amounts(prepared.select(KEY, "sku", "category", net), purchases)


def with_paid_amounts(lines: pl.DataFrame, purchases: pl.DataFrame) -> pl.DataFrame:
    """``lines`` (key, ..., ``amount``: each line's net value, Int128, in line order) with
    ``amount`` replaced by what the line was paid: the order-level discount of each purchase
    (``purchases``: key, ``total``, ``shipping``) spread by the largest remainder, ties to the
    earlier line, as :func:`patron.rules.allocation.allocate` does."""
    if not lines.height:
        return lines
    goods = lines.group_by(KEY).agg(pl.col("amount").sum().alias("goods"))
    discounted = (
        purchases.select(KEY, "total", "shipping")
        .join(goods, on=KEY, how="inner")
        .select(KEY, "goods", order_discount("goods").alias("order_discount"))
        .filter(pl.col("order_discount") > 0)
    )
    return spread_order_discounts(lines, discounted)


def order_discount(goods: str) -> pl.Expr:
    """The order-level discount (Int128) of purchases with ``total``, ``shipping`` and the
    lines' net value in the column ``goods``: ``min(goods + shipping - total, goods)``,
    positive where there is one."""
    return pl.min_horizontal(
        pl.col(goods).cast(pl.Int128)
        + pl.col("shipping").cast(pl.Int128)
        - pl.col("total").cast(pl.Int128),
        pl.col(goods).cast(pl.Int128),
    )


def spread_order_discounts(lines: pl.DataFrame, discounted: pl.DataFrame) -> pl.DataFrame:
    """``lines`` (key, ..., ``amount``, in line order) with ``amount`` less each line's share
    of its purchase's ``order_discount`` (``discounted``: key, ``goods`` = the sum of the
    purchase's amounts, ``order_discount`` > 0; other purchases' lines are unchanged).
    Raises :class:`ScoringOverflowError` when some ``goods`` reach 2**63 (the products would
    not fit Int128)."""
    if not discounted.height:
        return lines
    if discounted.select(pl.col("goods").max()).item() >= _ALLOCATION_SAFE:
        raise ScoringOverflowError(
            "line amounts too large for an exact order discount; score these purchases one by one"
        )
    lines = lines.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("position"))
    share = pl.col("order_discount") * pl.col("amount")
    affected = (
        lines.join(discounted, on=KEY, how="inner")
        .with_columns(
            (share // pl.col("goods")).alias("floor"), (share % pl.col("goods")).alias("remainder")
        )
        .sort([KEY, "remainder", "position"], descending=[False, True, False])
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(KEY).alias("rank"))
    )
    left = pl.col("order_discount") - pl.col("floor").sum().over(KEY)
    extra = pl.when(pl.col("rank").cast(pl.Int128) < left).then(1).otherwise(0).cast(pl.Int128)
    paid = affected.select("position", (pl.col("amount") - pl.col("floor") - extra).alias("paid"))
    joined = lines.join(paid, on="position", how="left", maintain_order="left")
    return joined.select(
        pl.exclude("amount", "paid", "position"),
        pl.coalesce("paid", "amount").cast(pl.Int128).alias("amount"),
    ).select(lines.drop("position").columns)


_ALLOCATION_SAFE = 2**63


def prepare_prior_usage(
    prior_usage: pl.DataFrame | None, purchases: pl.DataFrame, *, member_key: str
) -> pl.DataFrame:
    """Internal columns: member, rule_id, period_key, used (summed per key)."""
    member_dtype = purchases.schema[MEMBER]
    if prior_usage is None:
        schema: dict[str, pl.DataType] = {
            MEMBER: member_dtype,
            "rule_id": pl.String(),
            "period_key": pl.String(),
            "used": pl.Int64(),
        }
        return pl.DataFrame(schema=schema)
    _require(prior_usage, [member_key, "rule_id", "period_key", "used"], "prior usage")
    prepared = prior_usage.select(
        pl.col(member_key).cast(member_dtype, strict=True).alias(MEMBER),
        pl.col("rule_id").cast(pl.String),
        pl.col("period_key").cast(pl.String),
        pl.col("used").cast(pl.Int64, strict=True),
    )
    _require_true(prepared, pl.col("used").fill_null(-1) >= 0, "used must be >= 0", "used")
    return prepared.group_by(MEMBER, "rule_id", "period_key").agg(pl.col("used").sum())
