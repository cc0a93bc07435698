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

Lines (any number per purchase): the purchase key, ``sku`` (string), ``category`` (string,
nullable), ``quantity`` (integer > 0) and ``unit_price`` (integer minor units >= 0).

Prior usage (optional): the member key, ``rule_id``, ``period_key`` (as
:func:`patron.rules.periods.limit_period_key` writes it) and ``used`` (integer >= 0): how many
times the rule applied to the member in that period before the purchases in the frame.
"""

from __future__ import annotations

import polars as pl

from patron.rules.errors import ScoringInputError

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
    """Internal columns: key, sku, category, amount (Int128 minor units)."""
    _require(lines, [purchase_key, "sku", "category", "quantity", "unit_price"], "lines")
    key_dtype = purchases.schema[KEY]
    prepared = lines.select(
        pl.col(purchase_key).cast(key_dtype, strict=True).alias(KEY),
        pl.col("sku").cast(pl.String),
        pl.col("category").cast(pl.String),
        pl.col("quantity").cast(pl.Int64, strict=True),
        pl.col("unit_price").cast(pl.Int64, strict=True),
    )
    _require_true(prepared, pl.col("sku").is_not_null(), "a line has no sku", "sku")
    _require_true(prepared, pl.col("quantity").fill_null(0) > 0, "quantity must be > 0", "quantity")
    price_ok = pl.col("unit_price").fill_null(-1) >= 0
    _require_true(prepared, price_ok, "unit_price must be >= 0", "unit_price")
    orphans = prepared.join(purchases.select(KEY), on=KEY, how="anti")
    if orphans.height:
        raise ScoringInputError("lines refer to purchases not in the frame", field=purchase_key)
    amount = pl.col("quantity").cast(pl.Int128) * pl.col("unit_price").cast(pl.Int128)
    return prepared.select(KEY, "sku", "category", amount.alias("amount"))


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
