"""The purchase history a simulation replays, from an import file or from the database.

Both sources give the same two frames. ``purchases``: one row per purchase in time order
(``occurred_at``, then the shop's ``external_id``, the order of ``patron import purchases``)
with ``seq`` = 0, 1, ..., ``member`` (the member key: the file's ``member_external_id`` or
the database's member id; null for a purchase without a member), ``at`` (UTC), ``total`` and
``shipping`` (minor units), ``channel``, ``store``, ``external_id`` (an instant prize's
draw reads it). ``lines``: ``seq``, ``sku``,
``category``, ``quantity``, ``unit_price`` and ``discount`` (minor units; the line's own
discount, the order-level one following from the total), in line order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from patron.purchases.bulk.grouping import group_rows
from patron.purchases.bulk.report import RowError
from patron.purchases.bulk.source import ROW, read_rows

PURCHASE_COLUMNS = ("seq", "member", "at", "total", "shipping", "channel", "store", "external_id")
LINE_COLUMNS = ("seq", "sku", "category", "quantity", "unit_price", "discount")


@dataclass(frozen=True, slots=True)
class History:
    """The purchases to replay (see the module docstring). ``refused_purchases`` counts the
    purchases of a file left out for a refused row; ``errors`` lists those rows."""

    purchases: pl.DataFrame
    lines: pl.DataFrame
    source: str
    refused_purchases: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def member_purchases(self) -> pl.DataFrame:
        return self.purchases.filter(pl.col("member").is_not_null())


def history_from_file(path: Path, currency: str) -> History:
    """Read a purchase file in the columns of ``patron import purchases`` (docs/import.md)
    with the importer's own reader and checks; purchases with a refused row are left out.

    Raises :class:`~patron.purchases.bulk.errors.ImportFileError` when the file cannot be
    read at all.
    """
    grouped = group_rows(read_rows(path), currency)
    good = grouped.purchases.filter(~pl.col("is_bad"))
    purchases = good.select(
        pl.col("seq").alias("old"),
        pl.col("member_external_id").alias("member"),
        "at",
        pl.col("total_minor").cast(pl.Int64).alias("total"),
        pl.col("shipping_minor").cast(pl.Int64).alias("shipping"),
        "channel",
        "store",
        pl.col("external_id").cast(pl.String),
    ).with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("seq"))
    lines = grouped.lines.join(purchases.select("old", "seq"), left_on="seq", right_on="old")
    lines = lines.sort("seq_right", "line_no").select(
        pl.col("seq_right").alias("seq"),
        "sku",
        "category",
        pl.col("quantity").cast(pl.Int64),
        pl.col("unit_price_minor").cast(pl.Int64).alias("unit_price"),
        pl.col("discount_minor").cast(pl.Int64).alias("discount"),
    )
    errors = [
        RowError(row, column, code, message)
        for row, column, code, message in grouped.errors.select(
            ROW, "column", "code", "message"
        ).iter_rows()
    ]
    return History(
        purchases=purchases.select(PURCHASE_COLUMNS),
        lines=lines,
        source=str(path),
        refused_purchases=grouped.purchases.height - good.height,
        errors=errors,
    )


def history_from_rows(
    purchases: list[tuple[object, ...]], lines: list[tuple[object, ...]], source: str
) -> History:
    """A history from database rows: purchases as ``(id, external_id, member_id,
    occurred_at, total, shipping, channel, store)``, lines as ``(purchase_id, line_no, sku,
    category, quantity, unit_price, discount)``."""
    frame = pl.DataFrame(
        purchases,
        schema={
            "id": pl.Int64(),
            "external_id": pl.String(),
            "member": pl.Int64(),
            "at": pl.Datetime("us", "UTC"),
            "total": pl.Int64(),
            "shipping": pl.Int64(),
            "channel": pl.String(),
            "store": pl.String(),
        },
        orient="row",
    )
    frame = frame.sort("at", "external_id").with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("seq")
    )
    line_frame = pl.DataFrame(
        lines,
        schema={
            "id": pl.Int64(),
            "line_no": pl.Int64(),
            "sku": pl.String(),
            "category": pl.String(),
            "quantity": pl.Int64(),
            "unit_price": pl.Int64(),
            "discount": pl.Int64(),
        },
        orient="row",
    )
    line_frame = (
        line_frame.join(frame.select("id", "seq"), on="id", how="inner")
        .sort("seq", "line_no")
        .select(LINE_COLUMNS)
    )
    return History(purchases=frame.select(PURCHASE_COLUMNS), lines=line_frame, source=source)
