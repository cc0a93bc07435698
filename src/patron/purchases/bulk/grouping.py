"""Rows into purchases: the rows of one ``external_id`` form one purchase (its lines in file
order), and the purchases are put in time order (``occurred_at``, then ``external_id``).

Rows of one purchase must agree on the purchase's fields (member, time, currency, amounts,
channel, store): a row that differs from the purchase's first row is refused
(``purchase_mismatch``). Problems of the whole purchase (a time that is not an ISO 8601
instant or is too far ahead, more than 1,000 lines, a total above its lines less their
discounts plus shipping) are reported on each of its rows. A purchase with any bad
row is bad as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from patron.kit.time import ensure_utc
from patron.purchases.bulk.paid import purchase_nets, with_paid
from patron.purchases.bulk.report import RowProblem
from patron.purchases.bulk.source import ROW
from patron.purchases.bulk.validate import Check, check_lines, check_purchases, errors_of

MAX_LINES = 1000
PURCHASE_FIELDS = (
    "member_external_id",
    "occurred_at",
    "currency",
    "total",
    "shipping",
    "channel",
    "store",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Grouped:
    """``purchases``: one row per purchase in time order, ``seq`` = 0, 1, ...; columns
    ``external_id``, ``member_external_id``, ``occurred_at`` (text), ``at`` (UTC, null when
    invalid), ``currency``, ``total`` / ``shipping`` (texts), ``total_minor`` /
    ``shipping_minor``, ``channel``, ``store``, ``first_row``, ``line_count``, ``is_bad``.
    ``lines``: one row per line, ordered by (``seq``, ``line_no``), with ``row``, ``sku``,
    ``category``, ``quantity`` (whole number), ``unit_price`` (text), ``unit_price_minor``,
    ``discount`` (text, null for none), ``discount_minor`` and ``paid_minor`` (what the line
    was paid, see :mod:`patron.rules.allocation`).
    ``errors``: every refused row so far (``row``, ``column``, ``code``, ``message``)."""

    purchases: pl.DataFrame
    lines: pl.DataFrame
    errors: pl.DataFrame


def parse_instant_or_none(text: str) -> datetime | None:
    """An ISO 8601 date and time (naive = UTC), or None; a date alone is refused."""
    if len(text) <= 10:
        return None
    try:
        return ensure_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_ISO = (
    rf"^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]{_CLOCK}:[0-5][0-9](?:\.[0-9]{{1,6}})?)"
    rf"(Z|[+-]{_CLOCK})?$"
)


def _common_instants(texts: pl.Series) -> pl.Series:
    """The usual shapes (``2026-12-08T10:00:00[.ffffff][Z|+03:00]``) parsed by Polars, the
    same instants :func:`parse_instant_or_none` gives; null for any other text."""
    parts = texts.str.extract_groups(_ISO)
    local = parts.struct.field("1").str.replace(" ", "T", literal=True)
    moment = local.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.f", strict=False)
    zone = parts.struct.field("2")
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    minutes = zone.str.slice(1, 2).cast(pl.Int64, strict=False) * 60 + zone.str.slice(4, 2).cast(
        pl.Int64, strict=False
    )
    offset = pl.when(zone.is_null() | (zone == "Z")).then(0).otherwise(sign * minutes)
    frame = pl.DataFrame({"moment": moment, "offset": pl.select(offset).to_series()})
    shifted = pl.col("moment") - pl.duration(minutes=pl.col("offset"))
    return frame.select(shifted.dt.replace_time_zone("UTC").alias("at"))["at"]


def _instants(texts: pl.Series) -> pl.Series:
    """Parse the times: the usual shapes vectorised, the rest one by one (each distinct text
    once) with :func:`parse_instant_or_none`; a UTC Datetime, null where invalid."""
    fast = _common_instants(texts)
    missing = (fast.is_null() & texts.is_not_null()).arg_true().to_list()
    if not missing:
        return fast.alias("at")
    parsed: dict[str, int | None] = {}
    values: list[int | None] = []
    for text in texts.gather(missing).to_list():
        if text not in parsed:
            moment = parse_instant_or_none(text)
            parsed[text] = None if moment is None else (moment - _EPOCH) // _MICROSECOND
        values.append(parsed[text])
    slow = pl.Series(values, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
    return fast.scatter(missing, slow).alias("at")


def _contiguous(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with ``pidx`` (dense purchase index), ``first`` (index of the purchase's first
    row) and ``first_row`` (its row number), each purchase's rows next to each other in file
    order."""
    key = pl.col("external_id").fill_null(pl.format("\x00row {}", pl.col(ROW)))
    rows = rows.with_columns(key.alias("key"))
    starts = pl.col("key").ne_missing(pl.col("key").shift()).fill_null(True)
    rows = rows.with_columns((starts.cum_sum() - 1).cast(pl.Int64).alias("pidx"))
    distinct = rows.select(pl.col("key").n_unique()).item()
    if rows.height and rows.select(pl.col("pidx").max()).item() + 1 != distinct:
        order = pl.col("key").rank("dense").cast(pl.Int64) - 1
        rows = rows.with_columns(order.alias("pidx")).sort(["pidx", ROW])
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    is_first = pl.col("pidx").ne_missing(pl.col("pidx").shift()).fill_null(True)
    rows = rows.with_columns(
        pl.when(is_first).then(index).otherwise(None).forward_fill().alias("first")
    )
    return rows.with_columns(pl.col(ROW).gather(pl.col("first")).alias("first_row"))


def _mismatch_checks() -> list[Check]:
    return [
        Check(
            name,
            RowProblem.PURCHASE_MISMATCH,
            pl.col(name).ne_missing(pl.col(name).gather(pl.col("first"))),
            pl.format(
                "{} differs from the purchase's first row (row {})",
                pl.lit(name),
                pl.col("first_row"),
            ),
        )
        for name in PURCHASE_FIELDS
    ]


def _purchases(rows: pl.DataFrame) -> pl.DataFrame:
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    firsts = rows.filter(pl.col("first") == index)
    starts = firsts["first"].to_numpy()
    counts = np.diff(np.append(starts, rows.height))
    firsts = firsts.with_columns(purchase_nets(rows, starts))
    purchases = firsts.select(
        "pidx",
        "net",
        "external_id",
        pl.col("member_external_id"),
        "occurred_at",
        "currency",
        "total",
        "shipping",
        "channel",
        "store",
        pl.col(ROW).alias("first_row"),
        pl.Series("line_count", counts, dtype=pl.Int64),
    )
    return purchases.with_columns(_instants(purchases["occurred_at"]))


def _purchase_checks(latest: datetime | None) -> list[Check]:
    """Checks of whole purchases: the time, the line count, the total against the lines (less
    their discounts) plus shipping (``net`` is the lines' sum) and, with ``latest``, a time
    no later than ``latest``."""
    future: list[Check] = []
    if latest is not None:
        future.append(
            Check(
                "occurred_at",
                RowProblem.OCCURRED_IN_FUTURE,
                pl.col("at") > pl.lit(latest).dt.cast_time_unit("us"),
                pl.format(
                    "the purchase is dated {}, later than the {} allowed",
                    pl.col("occurred_at"),
                    pl.lit(latest.isoformat()),
                ),
            )
        )
    return [
        Check(
            "occurred_at",
            RowProblem.INVALID_TIME,
            pl.col("occurred_at").is_not_null() & pl.col("at").is_null(),
            pl.format("not an ISO 8601 date and time: '{}'", pl.col("occurred_at")),
        ),
        *future,
        Check(
            "total",
            RowProblem.TOTAL_MISMATCH,
            pl.col("total_minor").cast(pl.Int128)
            > pl.col("net") + pl.col("shipping_minor").cast(pl.Int128),
            pl.format(
                "the total '{}' is above the lines less their discounts plus shipping",
                pl.col("total"),
            ),
        ),
        Check(
            "external_id",
            RowProblem.TOO_MANY_LINES,
            pl.col("line_count") > MAX_LINES,
            pl.format(
                "the purchase has {} lines; at most {}", pl.col("line_count"), pl.lit(MAX_LINES)
            ),
        ),
    ]


def on_every_row(rows: pl.DataFrame, purchase_errors: pl.DataFrame) -> pl.DataFrame:
    """Purchase errors (keyed by ``pidx``) repeated on each row of the purchase."""
    expanded = purchase_errors.join(rows.select("pidx", ROW), on="pidx", how="inner")
    return expanded.select(ROW, "column", "code", "message")


def bad_purchases(rows: pl.DataFrame, errors: pl.DataFrame) -> np.ndarray:
    """The ``pidx`` of every purchase with a refused row (``rows`` holds ``row``, ``pidx``)."""
    pidx_by_row = np.empty(rows.height + 1, dtype=np.int64)
    pidx_by_row[rows[ROW].to_numpy()] = rows["pidx"].to_numpy()
    return np.unique(pidx_by_row[errors[ROW].to_numpy()])


def _purchase_errors(
    rows: pl.DataFrame,
    purchases: pl.DataFrame,
    currency: str,
    mismatch: pl.DataFrame,
    latest: datetime | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check each purchase on its first row and report its problems on every row of it,
    except on rows that differ from the first row in that column (those are mismatches)."""
    parsed, errors = check_purchases(purchases.rename({"first_row": ROW}), currency)
    errors = pl.concat([errors, errors_of(parsed, _purchase_checks(latest))])
    keyed = errors.join(parsed.select(ROW, "pidx"), on=ROW).drop(ROW)
    purchases = parsed.rename({ROW: "first_row"})
    expanded = on_every_row(rows, keyed).join(
        mismatch.select(ROW, "column"), on=[ROW, "column"], how="anti"
    )
    return purchases, expanded


def group_rows(raw: pl.DataFrame, currency: str, *, latest: datetime | None = None) -> Grouped:
    """Check, group and order the rows of a file (see the module docstring); a purchase
    dated after ``latest`` is refused (``occurred_in_future``)."""
    parsed, line_errors = check_lines(raw, currency)
    rows = _contiguous(parsed)
    mismatch = errors_of(rows, _mismatch_checks())
    purchases, purchase_errors = _purchase_errors(
        rows, _purchases(rows), currency, mismatch, latest
    )
    errors = pl.concat([line_errors, mismatch, purchase_errors])
    bad = bad_purchases(rows, errors)
    purchases = purchases.with_columns(pl.col("pidx").is_in(bad).alias("is_bad"))
    return _in_time_order(rows, purchases, errors)


def _in_time_order(rows: pl.DataFrame, purchases: pl.DataFrame, errors: pl.DataFrame) -> Grouped:
    ordered = purchases.sort(["at", "external_id"], nulls_last=True).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("seq")
    )
    seq_by_pidx = np.empty(ordered.height, dtype=np.int64)
    seq_by_pidx[ordered["pidx"].to_numpy()] = np.arange(ordered.height)
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    lines = rows.select(
        pl.Series("seq", seq_by_pidx[rows["pidx"].to_numpy()]),
        pl.col(ROW),
        (index - pl.col("first") + 1).alias("line_no"),
        "sku",
        "category",
        pl.col("quantity_number").alias("quantity"),
        "unit_price",
        "unit_price_minor",
        "discount",
        "discount_minor",
    ).sort(["seq", "line_no"])
    errors = errors.unique(maintain_order=True).sort(ROW, maintain_order=True)
    return Grouped(ordered.drop("pidx", "net"), with_paid(lines, ordered), errors)
