"""Checks of single rows, vectorised: each bad value gives one error (row, column, code).

The rules are those of the purchase API (:class:`~patron.purchases.schemas.PurchaseCreate`
and :func:`~patron.kit.money.parse_amount`): amounts are decimal strings of at most 15
digits and 4 decimal places, with no more significant decimals than the currency has
(``12.50`` and ``12.500`` are 1250 kopecks, ``12.505`` is refused); quantities are whole
numbers from 1 to 1,000,000; texts have the API's maximum lengths; the currency must be the
program's. Missing optional values: ``shipping`` is 0, the others are none.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from patron.kit.money import exponent
from patron.purchases.bulk.report import RowProblem
from patron.purchases.bulk.source import ROW

ERROR_SCHEMA: dict[str, pl.DataType] = {
    ROW: pl.Int64(),
    "column": pl.String(),
    "code": pl.String(),
    "message": pl.String(),
}
MAX_QUANTITY = 1_000_000
_AMOUNT = r"^\d{1,15}(\.\d{1,4})?$"
_QUANTITY = r"^\d{1,7}$"
_INT64_MAX = 2**63 - 1
_REQUIRED = ("external_id", "occurred_at", "currency", "total", "sku", "quantity", "unit_price")
_LENGTHS = {
    "external_id": 128,
    "member_external_id": 128,
    "sku": 128,
    "category": 128,
    "channel": 64,
    "store": 64,
}


@dataclass(frozen=True, slots=True)
class Check:
    """Rows where ``failed`` holds are refused for ``column`` with ``code`` and ``message``."""

    column: str
    code: RowProblem
    failed: pl.Expr
    message: pl.Expr


def empty_errors() -> pl.DataFrame:
    return pl.DataFrame(schema=ERROR_SCHEMA)


def errors_of(frame: pl.DataFrame, checks: list[Check]) -> pl.DataFrame:
    """One error row per (row, failed check), in check order."""
    found = [
        frame.filter(check.failed.fill_null(False)).select(
            pl.col(ROW),
            pl.lit(check.column, dtype=pl.String).alias("column"),
            pl.lit(check.code.value, dtype=pl.String).alias("code"),
            check.message.cast(pl.String).alias("message"),
        )
        for check in checks
    ]
    return pl.concat([empty_errors(), *found], how="vertical")


def amount_minor(column: str, places: int) -> pl.Expr:
    """The minor units of a valid amount text (Int64), null for an invalid one."""
    text = pl.col(column)
    parts = text.str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int128, strict=False)
    fraction = parts.struct.field("field_1").fill_null("")
    minor = whole * pl.lit(10**places, dtype=pl.Int128)
    if places:
        kept = fraction.str.slice(0, places).str.pad_end(places, "0")
        minor = minor + kept.cast(pl.Int128, strict=False)
    valid = text.str.contains(_AMOUNT) & fraction.str.slice(places).str.contains("^0*$")
    valid = valid & (minor <= _INT64_MAX)
    return pl.when(valid).then(minor).otherwise(None).cast(pl.Int64)


def _amount_checks(column: str, currency: str) -> list[Check]:
    places = exponent(currency)
    text = pl.col(column)
    malformed = text.is_not_null() & ~text.str.contains(_AMOUNT)
    too_precise = text.str.contains(_AMOUNT) & pl.col(f"{column}_minor").is_null()
    return [
        Check(
            column,
            RowProblem.INVALID_AMOUNT,
            malformed,
            pl.format("not a decimal amount: '{}'", text),
        ),
        Check(
            column,
            RowProblem.INVALID_AMOUNT,
            too_precise,
            pl.format("'{}' has more than {} decimal places for {}", text, pl.lit(places), pl.lit(currency)),
        ),
    ]


def _presence_and_length_checks() -> list[Check]:
    checks = [
        Check(name, RowProblem.MISSING_VALUE, pl.col(name).is_null(), pl.lit(f"{name} is empty"))
        for name in _REQUIRED
    ]
    checks += [
        Check(
            name,
            RowProblem.TOO_LONG,
            pl.col(name).str.len_chars() > limit,
            pl.lit(f"{name} is longer than {limit} characters"),
        )
        for name, limit in _LENGTHS.items()
    ]
    return checks


def _value_checks(currency: str) -> list[Check]:
    quantity = pl.col("quantity")
    is_whole = quantity.str.contains(_QUANTITY)
    number = quantity.cast(pl.Int64, strict=False)
    shipping_over = pl.col("shipping_minor") > pl.col("total_minor")
    return [
        Check(
            "currency",
            RowProblem.CURRENCY_MISMATCH,
            pl.col("currency").is_not_null() & (pl.col("currency") != currency),
            pl.format("the program runs in {}, not {}", pl.lit(currency), pl.col("currency")),
        ),
        *_amount_checks("total", currency),
        *_amount_checks("shipping", currency),
        *_amount_checks("unit_price", currency),
        Check(
            "shipping",
            RowProblem.INVALID_AMOUNT,
            shipping_over,
            pl.lit("shipping cannot exceed the total"),
        ),
        Check(
            "quantity",
            RowProblem.INVALID_QUANTITY,
            quantity.is_not_null() & (~is_whole | (number < 1) | (number > MAX_QUANTITY)),
            pl.format("quantity must be a whole number from 1 to {}, not '{}'", pl.lit(MAX_QUANTITY), quantity),
        ),
    ]


def check_rows(rows: pl.DataFrame, currency: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse the amounts and quantities of ``rows`` and check every value.

    Returns the rows with ``total_minor``, ``shipping_minor``, ``unit_price_minor`` and
    ``quantity_number`` (null where invalid; a missing shipping is ``"0"``) and the errors.
    """
    places = exponent(currency)
    parsed = rows.with_columns(pl.col("shipping").fill_null("0")).with_columns(
        amount_minor("total", places).alias("total_minor"),
        amount_minor("shipping", places).alias("shipping_minor"),
        amount_minor("unit_price", places).alias("unit_price_minor"),
        pl.when(pl.col("quantity").str.contains(_QUANTITY))
        .then(pl.col("quantity").cast(pl.Int64, strict=False))
        .alias("quantity_number"),
    )
    errors = errors_of(parsed, _presence_and_length_checks() + _value_checks(currency))
    return parsed, errors
