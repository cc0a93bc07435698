"""The rows a scored batch writes, as ``record_purchase`` would have written them.

Per purchase: the ``purchases`` row (points only for a member; ``pending_until`` and
``expires_at`` only when it earned points), its ``purchase_lines`` (``line_no`` from 1 in
file order), and when a member earned points: an ``earn`` entry (key ``purchase:<id>``,
dated at the purchase) and its lot, active at once when ``pending_until`` is none or not
after ``now``. Per member: one counter delta (available or pending, and lifetime earned);
per (member, limited rule, period): how many purchases the rule applied to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from patron.programs.schema import Program
from patron.purchases.bulk.tiers import TierMove
from patron.rules.frame_conditions import period_key


@dataclass(frozen=True, slots=True)
class BatchRows:
    """``purchases``: ``id``, ``external_id``, ``member_id``, ``at``, ``currency``,
    ``total_minor``, ``shipping_minor``, ``channel``, ``store``, ``points``,
    ``earn_entry_id``, ``pending_until``, ``expires_at``, ``breakdown``, ``request_hash``;
    ``lines``:
    ``purchase_id``, ``member_id``, ``line_no``, ``sku``, ``category``, ``quantity``,
    ``unit_price``, ``amount``, ``discount``, ``order_discount``; ``entries``: ``id``,
    ``account_id``, ``member_id``, ``amount``, ``source_id``, ``idempotency_key``, ``at``,
    ``description``; ``lots``:
    ``account_id``, ``member_id``, ``entry_id``, ``amount``, ``pending_until``,
    ``expires_at``, ``is_active``; ``usage``: ``member_id``, ``rule_id``, ``period_key``,
    ``count``; ``accounts``: ``account_id``, ``available``, ``pending``,
    ``lifetime_earned`` (deltas)."""

    program_id: int
    program_version: int
    now: datetime
    purchases: pl.DataFrame
    lines: pl.DataFrame
    entries: pl.DataFrame
    lots: pl.DataFrame
    usage: pl.DataFrame
    accounts: pl.DataFrame
    moves: list[TierMove]

    @property
    def points(self) -> int:
        return int(self.entries["amount"].sum()) if self.entries.height else 0


def credited(purchases: pl.DataFrame) -> int:
    """How many purchases earn a ledger entry (a member and points > 0)."""
    return int(
        purchases.select((pl.col("member_id").is_not_null() & (pl.col("points") > 0)).sum()).item()
    )


def _purchase_rows(
    purchases: pl.DataFrame, purchase_ids: np.ndarray, entry_ids: np.ndarray
) -> pl.DataFrame:
    earns = purchases.select(pl.col("member_id").is_not_null() & (pl.col("points") > 0)).to_series()
    entry_for = np.zeros(purchases.height, dtype=np.int64)
    entry_for[earns.to_numpy()] = entry_ids
    frame = purchases.with_columns(
        pl.Series("id", purchase_ids, dtype=pl.Int64),
        earns.alias("earns"),
        pl.Series("earn_entry_id", entry_for, dtype=pl.Int64),
    )
    earned = pl.col("points") > 0
    return frame.with_columns(
        pl.when(pl.col("earns")).then(pl.col("earn_entry_id")).alias("earn_entry_id"),
        pl.when(earned).then(pl.col("pending_until")).alias("pending_until"),
        pl.when(earned).then(pl.col("expires_at")).alias("expires_at"),
    )


def _line_rows(purchases: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    position = np.searchsorted(purchases["seq"].to_numpy(), lines["seq"].to_numpy())
    return lines.select(
        pl.Series("purchase_id", purchases["id"].to_numpy()[position], dtype=pl.Int64),
        pl.Series("member_id", purchases["member_id"].gather(position)),
        "line_no",
        "sku",
        "category",
        "quantity",
        pl.col("unit_price_minor").alias("unit_price"),
        (pl.col("quantity") * pl.col("unit_price_minor")).alias("amount"),
        pl.col("discount_minor").alias("discount"),
        (
            pl.col("quantity") * pl.col("unit_price_minor")
            - pl.col("discount_minor")
            - pl.col("paid_minor")
        ).alias("order_discount"),
    )


def _ledger_rows(
    purchases: pl.DataFrame, now: datetime
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    earning = purchases.filter(pl.col("earns"))
    entries = earning.select(
        pl.col("earn_entry_id").alias("id"),
        "account_id",
        "member_id",
        pl.col("points").alias("amount"),
        pl.col("id").cast(pl.String).alias("source_id"),
        pl.format("purchase:{}", pl.col("id")).alias("idempotency_key"),
        "at",
        pl.format("purchase {}", pl.col("external_id")).alias("description"),
    )
    is_active = pl.col("pending_until").is_null() | (pl.col("pending_until") <= pl.lit(now))
    lots = earning.select(
        "account_id",
        "member_id",
        pl.col("earn_entry_id").alias("entry_id"),
        pl.col("points").alias("amount"),
        "pending_until",
        "expires_at",
        is_active.alias("is_active"),
    )
    deltas = lots.group_by("account_id").agg(
        pl.col("amount").filter(pl.col("is_active")).sum().alias("available"),
        pl.col("amount").filter(~pl.col("is_active")).sum().alias("pending"),
        pl.col("amount").sum().alias("lifetime_earned"),
    )
    return entries, lots, deltas.sort("account_id")


def _usage_rows(program: Program, purchases: pl.DataFrame) -> pl.DataFrame:
    schema = {
        "member_id": pl.Int64(),
        "rule_id": pl.String(),
        "period_key": pl.String(),
        "count": pl.Int64(),
    }
    limited = [rule for rule in program.earning.rules if rule.limit is not None]
    members = purchases.filter(pl.col("member_id").is_not_null())
    if not limited or not members.height:
        return pl.DataFrame(schema=schema)
    local = members.with_columns(
        pl.col("at").dt.convert_time_zone(program.program.timezone).alias("local")
    )
    found = [
        local.filter(pl.col("applied_rule_ids").list.contains(rule.id)).select(
            "member_id",
            pl.lit(rule.id).alias("rule_id"),
            period_key(rule.limit.period).alias("period_key"),
        )
        for rule in limited
        if rule.limit is not None
    ]
    counted = (
        pl.concat(found).group_by("member_id", "rule_id", "period_key").agg(pl.len().alias("count"))
    )
    return counted.cast(schema).sort("member_id", "rule_id", "period_key")  # type: ignore[arg-type]


def batch_rows(
    program: Program,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    *,
    program_id: int,
    program_version: int,
    now: datetime,
    purchase_ids: np.ndarray,
    entry_ids: np.ndarray,
    moves: list[TierMove],
) -> BatchRows:
    """Rows of scored ``purchases`` (``seq`` order; ``points`` already 0 without a member)
    and their ``lines``, with ids allocated by the writer: one per purchase and one per
    purchase that earns (:func:`credited`)."""
    rows = _purchase_rows(purchases, purchase_ids, entry_ids)
    entries, lots, deltas = _ledger_rows(rows, now)
    return BatchRows(
        program_id=program_id,
        program_version=program_version,
        now=now,
        purchases=rows,
        lines=_line_rows(rows, lines),
        entries=entries,
        lots=lots,
        usage=_usage_rows(program, rows),
        accounts=deltas,
        moves=moves,
    )
