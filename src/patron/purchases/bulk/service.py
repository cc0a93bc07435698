"""``import_purchases``: load a file of purchase lines, batch by batch.

The file is read and checked as a whole (:mod:`~patron.purchases.bulk.grouping`), its
members resolved, then its purchases (in time order) are cut into batches of about
``batch_size`` rows, a purchase never split. Each batch is one unit of work (see
:mod:`~patron.purchases.bulk.batch`): nothing of a batch with a refused row is written,
unless ``skip_bad``, which leaves out only the refused purchases. Purchases already
recorded with the same content are skipped, so running a file again loads nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram
from patron.purchases.bulk.batch import BatchOutcome, load_batch
from patron.purchases.bulk.grouping import Grouped, group_rows, on_every_row
from patron.purchases.bulk.report import ImportReport, RowError, RowProblem
from patron.purchases.bulk.repository import BulkRepository
from patron.purchases.bulk.source import ROW, read_rows
from patron.purchases.bulk.writers import bulk_settings, refresh_statistics

# Rows per unit of work. Each commit writes every page the batch touched to the WAL again
# (the members' index pages above all) and each batch repeats its lookups, so larger batches
# cost less per row; a batch holds SQLite's write lock while it runs (a few seconds).
DEFAULT_BATCH_SIZE = 200_000
Progress = Callable[[int, int], None]


async def _with_members(database: Database, active: ActiveProgram, grouped: Grouped) -> Grouped:
    """Resolve ``member_external_id``: ``member_id`` (null: no member); unknown and blocked
    members make their purchases bad."""
    purchases = grouped.purchases
    wanted = purchases["member_external_id"].drop_nulls().unique().sort().to_list()
    async with database.read() as session:
        found = await BulkRepository(session).members(active.program_id, wanted)
    purchases = purchases.join(found, on="member_external_id", how="left", maintain_order="left")
    named = pl.col("member_external_id").is_not_null()
    unknown = named & pl.col("member_id").is_null()
    blocked = named & pl.col("member_id").is_not_null() & ~pl.col("is_active").fill_null(True)
    problems = purchases.filter(unknown | blocked).select(
        pl.col("seq").alias("pidx"),
        pl.lit("member_external_id").alias("column"),
        pl.when(unknown)
        .then(pl.lit(RowProblem.UNKNOWN_MEMBER.value))
        .otherwise(pl.lit(RowProblem.MEMBER_BLOCKED.value))
        .alias("code"),
        pl.when(unknown)
        .then(pl.format("no member with external_id '{}'", pl.col("member_external_id")))
        .otherwise(pl.format("member '{}' is blocked", pl.col("member_external_id")))
        .alias("message"),
    )
    rows = grouped.lines.select(pl.col("seq").alias("pidx"), ROW)
    errors = pl.concat([grouped.errors, on_every_row(rows, problems)]).sort(
        ROW, maintain_order=True
    )
    purchases = purchases.with_columns((pl.col("is_bad") | unknown | blocked).alias("is_bad")).drop(
        "is_active"
    )
    return Grouped(purchases, grouped.lines, errors)


def batch_bounds(line_counts: np.ndarray, batch_size: int) -> list[tuple[int, int]]:
    """``[start, end)`` purchase ranges of about ``batch_size`` rows each (a purchase is
    never split; a purchase with more rows than ``batch_size`` is a batch of its own)."""
    bounds: list[tuple[int, int]] = []
    start, rows = 0, 0
    for index, count in enumerate(line_counts.tolist()):
        if rows and rows + count > batch_size:
            bounds.append((start, index))
            start, rows = index, 0
        rows += count
    if rows:
        bounds.append((start, len(line_counts)))
    return bounds


def _errors(frame: pl.DataFrame) -> list[RowError]:
    return [
        RowError(row, column, code, message) for row, column, code, message in frame.iter_rows()
    ]


def _add(report: ImportReport, outcome: BatchOutcome) -> None:
    report.batches += 1
    report.batches_refused += int(outcome.refused)
    report.purchases_loaded += outcome.loaded
    report.purchases_skipped_existing += outcome.skipped
    report.purchases_not_loaded += outcome.not_loaded
    report.purchases_replayed += outcome.replayed
    report.points_issued += outcome.points
    report.tier_upgrades += outcome.tier_upgrades


async def import_purchases(
    database: Database,
    *,
    path: Path,
    program_key: str = program_service.DEFAULT_KEY,
    batch_size: int = DEFAULT_BATCH_SIZE,
    skip_bad: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the purchases of the file ``path`` (see :func:`import_rows`)."""
    started = time.perf_counter()
    report = await import_rows(
        database,
        read_rows(path),
        program_key=program_key,
        batch_size=batch_size,
        skip_bad=skip_bad,
        now=now,
        progress=progress,
    )
    report.seconds = time.perf_counter() - started
    return report


async def import_rows(
    database: Database,
    raw: pl.DataFrame,
    *,
    program_key: str = program_service.DEFAULT_KEY,
    batch_size: int = DEFAULT_BATCH_SIZE,
    skip_bad: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the rows of a file (as :func:`~patron.purchases.bulk.source.read_rows` gives
    them) into program ``program_key`` (see the module docstring). ``now`` is the moment
    every purchase is recorded at (default: the clock); a purchase dated more than the
    program's ``purchases.max_future_minutes`` after it is refused (``occurred_in_future``);
    ``progress(rows_done, rows_total)`` is called after each batch."""
    started = time.perf_counter()
    moment = now or utcnow()
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=program_key)
    margin = timedelta(minutes=active.program.purchases.max_future_minutes)
    grouped = group_rows(raw, active.program.currency, latest=moment + margin)
    grouped = await _with_members(database, active, grouped)
    report = ImportReport(rows=raw.height, purchases=grouped.purchases.height)
    counts = grouped.purchases["line_count"].to_numpy()
    offsets = np.concatenate([[0], np.cumsum(counts)])
    errors = [grouped.errors]
    async with bulk_settings(database):
        for start, end in batch_bounds(counts, max(batch_size, 1)):
            purchases = grouped.purchases.slice(start, end - start)
            lines = grouped.lines.slice(int(offsets[start]), int(offsets[end] - offsets[start]))
            outcome = await load_batch(
                database, active, purchases, lines, now=moment, skip_bad=skip_bad
            )
            _add(report, outcome)
            errors.append(outcome.errors)
            await refresh_statistics(database, report.batches)
            if progress is not None:
                progress(int(offsets[end]), report.rows)
    found = pl.concat(errors).unique(maintain_order=True).sort(ROW, maintain_order=True)
    report.errors = _errors(found)
    report.rows_refused = found[ROW].n_unique() if found.height else 0
    report.purchases_refused = _refused_purchases(grouped, found)
    report.seconds = time.perf_counter() - started
    return report


def _refused_purchases(grouped: Grouped, errors: pl.DataFrame) -> int:
    if not errors.height:
        return 0
    rows = grouped.lines.filter(pl.col(ROW).is_in(errors[ROW].unique().to_list()))
    return rows["seq"].n_unique()
