"""The events of a vectorised batch, as ``record_purchase`` emits them one by one.

Per purchase ``purchases.recorded``, per earn entry ``ledger.credited`` (kind ``earn``, source
``purchase``), and per tier move ``tiers.changed`` (``up``, with the per-event path's reason).
The payloads are built column-wise (:meth:`polars.Expr.struct.json_encode`) with the fields
and formats of the event classes (``tests/purchases/bulk/test_events.py`` holds them equal to
the classes' own JSON and to the events of the same purchases recorded one by one), and the
writer adds them to ``outbox_events`` in the batch's unit of work: ``executemany`` on SQLite,
``COPY`` on PostgreSQL. A refused or raced batch rolls them back with its rows.
"""

from __future__ import annotations

import polars as pl

from patron.kit.outbox import DomainEvent
from patron.ledger.events import LedgerCredited
from patron.ledger.kinds import EntryKind
from patron.ledger.sources import LedgerSource
from patron.purchases.bulk.rows import BatchRows
from patron.purchases.events import PurchaseRecorded
from patron.tiers.events import TiersChanged

COLUMNS = ("type", "version", "program_id", "member_id", "payload")


def _iso(column: pl.Expr) -> pl.Expr:
    """A UTC time as pydantic writes it: seconds, then microseconds only when not zero."""
    utc = column.dt.convert_time_zone("UTC")
    return (
        pl.when(utc.dt.microsecond() == 0)
        .then(utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        .otherwise(utc.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    )


def _framed(
    frame: pl.DataFrame, kind: type[DomainEvent], program_id: int, *fields: pl.Expr | str
) -> pl.DataFrame:
    return frame.select(
        pl.lit(kind.type).alias("type"),
        pl.lit(kind.version, dtype=pl.Int64).alias("version"),
        pl.lit(program_id, dtype=pl.Int64).alias("program_id"),
        pl.col("member_id").cast(pl.Int64),
        pl.struct(*fields).struct.json_encode().alias("payload"),
    )


def batch_events(rows: BatchRows) -> pl.DataFrame:
    """The batch's events (:data:`COLUMNS`; ``occurred_at`` is the batch's ``now``): each
    purchase's ``purchases.recorded`` followed by its ``ledger.credited``, then the tier
    moves."""
    purchases = rows.purchases.sort("id")
    recorded = _framed(
        purchases,
        PurchaseRecorded,
        rows.program_id,
        pl.col("member_id").cast(pl.Int64),
        pl.col("id").alias("purchase_id"),
        "external_id",
        pl.col("total_minor").alias("total"),
        "currency",
        "points",
        _iso(pl.col("at")).alias("occurred_at"),
    ).with_columns(order=purchases["id"])
    credited = _framed(
        rows.entries,
        LedgerCredited,
        rows.program_id,
        pl.col("member_id").cast(pl.Int64),
        pl.col("id").alias("entry_id"),
        pl.lit(EntryKind.EARN.value).alias("kind"),
        pl.col("amount").alias("points"),
        pl.lit(LedgerSource.PURCHASE.value).alias("source"),
    ).with_columns(order=rows.entries["source_id"].cast(pl.Int64))
    ordered = pl.concat(
        [
            recorded.with_columns(pl.lit(0).alias("then")),
            credited.with_columns(pl.lit(1).alias("then")),
        ]
    ).sort("order", "then")
    moves = pl.DataFrame(
        [(m.member_id, m.from_tier, m.to_tier, m.reason) for m in rows.moves],
        schema={
            "member_id": pl.Int64(),
            "from_tier": pl.String(),
            "to_tier": pl.String(),
            "reason": pl.String(),
        },
        orient="row",
    )
    changed = _framed(
        moves,
        TiersChanged,
        rows.program_id,
        "member_id",
        "from_tier",
        "to_tier",
        pl.lit("up").alias("direction"),
        "reason",
    )
    return pl.concat([ordered.select(COLUMNS), changed])
