"""One batch of the import in one unit of work.

1. Fingerprint the batch's good purchases and look up those already recorded: the same
   fingerprint is skipped, another one refuses the purchase (``idempotency_conflict``).
2. A refused row refuses the whole batch unless ``skip_bad`` (nothing is written).
3. Read the members' tiers and accounts (locked on PostgreSQL) and route: members with debt
   (an active credit must repay it first) or without an account go to the per-event path,
   every other purchase to the vectorised one (:mod:`~patron.purchases.bulk.plan`), which
   may hand back members whose tiers do not settle.
4. Write the vectorised rows with the raw driver, then replay the per-event purchases in
   time order; a purchase the per-event path refuses refuses the batch unless ``skip_bad``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.programs.schemas import ActiveProgram
from patron.purchases.bulk.fingerprint import fingerprints
from patron.purchases.bulk.grouping import on_every_row
from patron.purchases.bulk.plan import ScoredBatch, score_batch
from patron.purchases.bulk.replay import Refusal, replay
from patron.purchases.bulk.report import RowProblem
from patron.purchases.bulk.repository import BulkRepository
from patron.purchases.bulk.rows import batch_rows, credited
from patron.purchases.bulk.source import ROW
from patron.purchases.bulk.validate import empty_errors
from patron.purchases.bulk.writers import BatchRaceError, batch_unit_of_work, writer_for
from patron.rules.errors import ScoringOverflowError

RACE_RETRIES = 3


@dataclass(slots=True)
class BatchOutcome:
    """What happened to one batch; ``errors`` holds the rows it refused (beyond the ones
    the file's checks found)."""

    refused: bool = False
    loaded: int = 0
    skipped: int = 0
    not_loaded: int = 0
    replayed: int = 0
    points: int = 0
    tier_upgrades: int = 0
    errors: pl.DataFrame = field(default_factory=empty_errors)


class _BatchRefusedError(Exception):
    def __init__(self, outcome: BatchOutcome) -> None:
        super().__init__("batch refused")
        self.outcome = outcome


def _row_errors(lines: pl.DataFrame, problems: pl.DataFrame) -> pl.DataFrame:
    """Problems keyed by ``seq`` (``pidx``) on every row of their purchases."""
    return on_every_row(lines.select(pl.col("seq").alias("pidx"), ROW), problems)


def _conflicts(new: pl.DataFrame) -> pl.DataFrame:
    clash = new.filter(
        pl.col("existing_hash").is_not_null() & (pl.col("existing_hash") != pl.col("request_hash"))
    )
    return clash.select(
        pl.col("seq").alias("pidx"),
        pl.lit("external_id").alias("column"),
        pl.lit(RowProblem.IDEMPOTENCY_CONFLICT.value).alias("code"),
        pl.format(
            "purchase '{}' was already recorded with a different body", pl.col("external_id")
        ).alias("message"),
    )


def _refusals(refused: list[Refusal]) -> pl.DataFrame:
    return pl.DataFrame(
        [(r.seq, r.field or "external_id", r.code, r.message) for r in refused],
        schema={
            "pidx": pl.Int64(),
            "column": pl.String(),
            "code": pl.String(),
            "message": pl.String(),
        },
        orient="row",
    )


async def _existing(
    session: AsyncSession, active: ActiveProgram, good: pl.DataFrame, lines: pl.DataFrame
) -> pl.DataFrame:
    """``good`` with ``request_hash`` and the ``existing_hash`` of a recorded purchase."""
    own = lines.filter(pl.col("seq").is_in(good["seq"].to_list()))
    hashed = good.with_columns(fingerprints(good, own))
    found = await BulkRepository(session).existing_purchases(
        active.program_id, hashed["external_id"].to_list()
    )
    return hashed.join(found, on="external_id", how="left", maintain_order="left")


async def _vectorised(
    session: AsyncSession,
    active: ActiveProgram,
    fast: pl.DataFrame,
    lines: pl.DataFrame,
    now: datetime,
) -> ScoredBatch | None:
    """Score the fast purchases; None when the scorer cannot be exact for this batch."""
    repository = BulkRepository(session)
    program = active.program
    limited = [rule.id for rule in program.earning.rules if rule.limit is not None]
    members = fast["member_id"].drop_nulls().unique().to_list()
    prior = await repository.rule_usage(members, limited)

    async def metrics(member_ids: list[int]) -> dict[int, int]:
        return await repository.tier_metrics(program, member_ids, now)

    try:
        return await score_batch(program, fast, lines, prior, metrics, now)
    except ScoringOverflowError:
        return None


async def _write(
    session: AsyncSession,
    active: ActiveProgram,
    scored: ScoredBatch,
    lines: pl.DataFrame,
    now: datetime,
) -> int:
    writer = await writer_for(session)
    purchases = scored.purchases
    rows = batch_rows(
        active.program,
        purchases,
        lines.filter(pl.col("seq").is_in(purchases["seq"].to_list())),
        program_id=active.program_id,
        program_version=active.version,
        now=now,
        purchase_ids=await writer.next_ids("purchases", purchases.height),
        entry_ids=await writer.next_ids("ledger_entries", credited(purchases)),
        moves=scored.moves,
    )
    await writer.write(rows)
    return rows.points


async def _in_unit_of_work(
    session: AsyncSession,
    active: ActiveProgram,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    now: datetime,
    skip_bad: bool,
) -> BatchOutcome:
    good = await _existing(session, active, purchases.filter(~pl.col("is_bad")), lines)
    conflicts = _conflicts(good)
    outcome = BatchOutcome(errors=_row_errors(lines, conflicts))
    new = good.filter(pl.col("existing_hash").is_null())
    outcome.skipped = good.height - new.height - conflicts.height
    if (conflicts.height or good.height < purchases.height) and not skip_bad:
        raise _BatchRefusedError(
            BatchOutcome(refused=True, not_loaded=new.height, errors=outcome.errors)
        )
    states = await BulkRepository(session).member_states(
        new["member_id"].drop_nulls().unique().to_list()
    )
    new = new.join(states, on="member_id", how="left", maintain_order="left")
    needs_events = pl.col("member_id").is_not_null() & (
        pl.col("account_id").is_null() | (pl.col("debt") > 0)
    )
    scored = await _vectorised(session, active, new.filter(~needs_events), lines, now)
    if scored is None:
        slow = new
    else:
        slow = new.filter(
            needs_events | pl.col("member_id").is_in(scored.unsettled).fill_null(False)
        )
        outcome.points += await _write(session, active, scored, lines, now)
        outcome.loaded += scored.purchases.height
        outcome.tier_upgrades += len(scored.moves)
    replayed = await replay(session, active=active, purchases=slow, lines=lines, now=now)
    refusals = _row_errors(lines, _refusals(replayed.refused))
    outcome.errors = pl.concat([outcome.errors, refusals])
    if replayed.refused and not skip_bad:
        raise _BatchRefusedError(
            BatchOutcome(
                refused=True, not_loaded=new.height - len(replayed.refused), errors=outcome.errors
            )
        )
    outcome.loaded += replayed.loaded
    outcome.replayed += replayed.loaded
    outcome.points += replayed.points
    return outcome


async def load_batch(
    database: Database,
    active: ActiveProgram,
    purchases: pl.DataFrame,
    lines: pl.DataFrame,
    *,
    now: datetime,
    skip_bad: bool,
) -> BatchOutcome:
    """Load one batch (see the module docstring); retried when a concurrent writer recorded
    one of its purchases first (PostgreSQL)."""
    for attempt in range(RACE_RETRIES):
        try:
            async with batch_unit_of_work(database) as session:
                return await _in_unit_of_work(session, active, purchases, lines, now, skip_bad)
        except _BatchRefusedError as refusal:
            return refusal.outcome
        except BatchRaceError:
            if attempt == RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
