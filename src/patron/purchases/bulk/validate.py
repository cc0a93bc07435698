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
_AMOUNT = r"^[0-9]{1,15}(\.[0-9]{1,4})?$"
_QUANTITY = r"^[0-9]{1,7}$"
_INT64_MAX = 2**63 - 1
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
    """One error row per (row, failed check), in check order. Every check is evaluated in
    one pass; error rows are built only for the checks that failed somewhere."""
    if not checks or not frame.height:
        return empty_errors()
    flags = frame.select(
        check.failed.fill_null(False).alias(f"check_{n}") for n, check in enumerate(checks)
    )
    failing = [n for n, failed in enumerate(flags.select(pl.all().any()).row(0)) if failed]
    found = [
        frame.filter(flags[f"check_{n}"]).select(
            pl.col(ROW),
            pl.lit(checks[n].column, dtype=pl.String).alias("column"),
            pl.lit(checks[n].code.value, dtype=pl.String).alias("code"),
            checks[n].message.cast(pl.String).alias("message"),
        )
        for n in failing
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
            pl.format(
                "'{}' has more than {} decimal places for {}",
                text,
                pl.lit(places),
                pl.lit(currency),
            ),
        ),
    ]


def _presence(names: tuple[str, ...]) -> list[Check]:
    return [
        Check(name, RowProblem.MISSING_VALUE, pl.col(name).is_null(), pl.lit(f"{name} is empty"))
        for name in names
    ]


def _lengths(names: tuple[str, ...]) -> list[Check]:
    return [
        Check(
            name,
            RowProblem.TOO_LONG,
            pl.col(name).str.len_chars() > _LENGTHS[name],
            pl.lit(f"{name} is longer than {_LENGTHS[name]} characters"),
        )
        for name in names
    ]


def check_lines(rows: pl.DataFrame, currency: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check the line columns of every row (``sku``, ``category``, ``quantity``,
    ``unit_price``, ``discount``); returns the rows with ``unit_price_minor``,
    ``quantity_number`` and ``discount_minor`` (null where invalid; 0 for no discount) and
    the errors. A discount is money off the whole line, at most quantity x unit_price."""
    quantity = pl.col("quantity")
    places = exponent(currency)
    parsed = rows.with_columns(
        amount_minor("unit_price", places).alias("unit_price_minor"),
        pl.when(quantity.str.contains(_QUANTITY))
        .then(quantity.cast(pl.Int64, strict=False))
        .alias("quantity_number"),
        pl.when(pl.col("discount").is_null())
        .then(pl.lit(0, dtype=pl.Int64))
        .otherwise(amount_minor("discount", places))
        .alias("discount_minor"),
    )
    number = pl.col("quantity_number")
    line_amount = number.cast(pl.Int128) * pl.col("unit_price_minor").cast(pl.Int128)
    checks = [
        *_presence(("external_id", "sku", "quantity", "unit_price")),
        *_lengths(("sku", "category")),
        *_amount_checks("unit_price", currency),
        *_amount_checks("discount", currency),
        Check(
            "discount",
            RowProblem.INVALID_AMOUNT,
            pl.col("discount_minor").cast(pl.Int128) > line_amount,
            pl.format("the discount '{}' exceeds the line's amount", pl.col("discount")),
        ),
        Check(
            "quantity",
            RowProblem.INVALID_QUANTITY,
            quantity.is_not_null() & (number.is_null() | (number < 1) | (number > MAX_QUANTITY)),
            pl.format(
                "quantity must be a whole number from 1 to {}, not '{}'",
                pl.lit(MAX_QUANTITY),
                quantity,
            ),
        ),
    ]
    return parsed, errors_of(parsed, checks)


def check_purchases(purchases: pl.DataFrame, currency: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check the purchase columns of each purchase's first row (a missing shipping is
    ``"0"``); returns them with ``total_minor`` and ``shipping_minor`` and the errors (by
    the first row's number)."""
    places = exponent(currency)
    parsed = purchases.with_columns(pl.col("shipping").fill_null("0")).with_columns(
        amount_minor("total", places).alias("total_minor"),
        amount_minor("shipping", places).alias("shipping_minor"),
    )
    checks = [
        *_presence(("occurred_at", "currency", "total")),
        *_lengths(("external_id", "member_external_id", "channel", "store")),
        Check(
            "currency",
            RowProblem.CURRENCY_MISMATCH,
            pl.col("currency").is_not_null() & (pl.col("currency") != currency),
            pl.format("the program runs in {}, not {}", pl.lit(currency), pl.col("currency")),
        ),
        *_amount_checks("total", currency),
        *_amount_checks("shipping", currency),
        Check(
            "shipping",
            RowProblem.INVALID_AMOUNT,
            pl.col("shipping_minor") > pl.col("total_minor"),
            pl.lit("shipping cannot exceed the total"),
        ),
    ]
    return parsed, errors_of(parsed, checks)
