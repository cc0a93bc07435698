"""``import_members``: load a file of members (CSV, XLSX or Parquet), and the batch API.

The whole file is read and every row checked first. Refused rows are reported by row number,
column and reason; without ``skip_bad`` a file with a refused row loads nothing. A row whose
``external_id`` an earlier row already used is refused too. With ``dry_run`` the run stops
after telling what each row would do (new, unchanged, updated, refused). The good rows are
then written in batches of ``batch_size``, each its own unit of work (see
:mod:`~patron.onboarding.members`), so that running the same file again changes nothing.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.onboarding.checking import check_frame, parse_rows, refuse_repeats
from patron.onboarding.errors import MemberBatchTooLargeError
from patron.onboarding.members import RowStatus, apply_rows, classify
from patron.onboarding.rows import OPTIONAL, REQUIRED, Context, MemberRow, Problem
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram
from patron.purchases.bulk.report import RowError
from patron.purchases.bulk.source import ROW, read_table

DEFAULT_BATCH_SIZE = 5_000
MAX_API_BATCH = 500
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class MemberImportReport:
    """The figures of one members import (``dry_run``: what it would have done)."""

    rows: int = 0
    new: int = 0
    unchanged: int = 0
    updated: int = 0
    refused: int = 0
    not_loaded: int = 0  # good rows left out because a refused row stopped the file
    opening_points: int = 0  # of the new members
    dry_run: bool = False
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.errors

    def count(self, statuses: Sequence[RowStatus]) -> None:
        for status in statuses:
            setattr(self, status.value, getattr(self, status.value) + 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "new": self.new,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "refused": self.refused,
            "not_loaded": self.not_loaded,
            "opening_points": self.opening_points,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "errors": [error.to_dict() for error in self.errors],
        }


def read_members(path: Path, *, attributes: Sequence[str] = ()) -> pl.DataFrame:
    """The file's rows as text; ``attributes`` names the free columns to keep (any other
    column Patron does not know is refused)."""
    return read_table(path, REQUIRED, OPTIONAL, extra=attributes)


def check_rows(
    records: Iterable[Mapping[str, Any]], context: Context
) -> tuple[list[MemberRow | None], list[list[Problem]]]:
    """Each record parsed (``None`` where refused) and its problems; a repeated
    ``external_id`` refuses the later record."""
    return refuse_repeats(parse_rows(records, context))


async def import_members(
    database: Database,
    frame: pl.DataFrame,
    *,
    program_key: str = program_service.DEFAULT_KEY,
    attributes: Sequence[str] = (),
    phone_region: str | None = None,
    dry_run: bool = False,
    skip_bad: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
    progress: Progress | None = None,
    check_processes: int | None = None,
) -> MemberImportReport:
    """Import the rows of :func:`read_members` into program ``program_key`` (see the module
    docstring); ``progress(rows_done, rows_total)`` is called after each batch.
    ``check_processes`` bounds the processes that check a large file's rows (default: the
    cores, at most 4; :mod:`~patron.onboarding.checking`)."""
    started = time.perf_counter()
    moment = now or utcnow()
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=program_key)
    context = Context(active.program, moment, phone_region, tuple(attributes))
    parsed, problems = check_frame(frame.drop(ROW), context, processes=check_processes)
    report = MemberImportReport(rows=frame.height, dry_run=dry_run)
    rows_of_file = frame[ROW].to_list()
    report.errors = [
        RowError(row, problem.column, problem.code.value, problem.message)
        for row, found in zip(rows_of_file, problems, strict=True)
        for problem in found
    ]
    good = [row for row in parsed if row is not None]
    report.refused = len(parsed) - len(good)
    if report.errors and not skip_bad and not dry_run:
        report.not_loaded = len(good)
        good = []
    size = max(batch_size, 1)
    # The checked rows (about ten objects each) live until the import ends: a million of them
    # made every full collection of the garbage collector walk ten million objects, and the
    # writes allocate enough to run one every few batches (docs/benchmarks.md, "Members
    # import"). They hold no reference cycles, so the collector is kept off them while the
    # batches run and given them back afterwards; reference counting frees them as ever.
    gc.freeze()
    try:
        for start in range(0, len(good), size):
            batch = good[start : start + size]
            report.count(await _run_batch(database, active, batch, moment, dry_run, report))
            if progress is not None:
                progress(min(start + size, len(good)), len(good))
    finally:
        gc.unfreeze()
    report.seconds = time.perf_counter() - started
    return report


async def _run_batch(
    database: Database,
    active: ActiveProgram,
    batch: list[MemberRow],
    now: datetime,
    dry_run: bool,
    report: MemberImportReport,
) -> list[RowStatus]:
    if dry_run:
        async with database.read() as session:
            statuses, _ = await classify(session, program_id=active.program_id, rows=batch)
    else:
        async with database.write() as session:
            statuses = await apply_rows(session, active=active, rows=batch, now=now)
    report.opening_points += sum(
        row.opening_points
        for row, status in zip(batch, statuses, strict=True)
        if status is RowStatus.NEW
    )
    return statuses


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """One member's answer in a batch: ``status``, and ``errors`` when refused."""

    external_id: str | None
    status: RowStatus
    errors: list[Problem]

    def to_dict(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "status": self.status.value,
            "errors": [
                {"field": problem.column, "code": problem.code.value, "message": problem.message}
                for problem in self.errors
            ],
        }


async def import_batch(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    records: Sequence[Mapping[str, Any]],
    now: datetime,
    dry_run: bool = False,
) -> list[BatchAnswer]:
    """The batch API: up to :data:`MAX_API_BATCH` members, each answered with the status it
    would have had alone (a refused member does not stop the others)."""
    if len(records) > MAX_API_BATCH:
        raise MemberBatchTooLargeError(
            f"at most {MAX_API_BATCH} members per batch, not {len(records)}",
            field="members",
            params={"most": MAX_API_BATCH, "given": len(records)},
        )
    context = Context(active.program, now)
    parsed, problems = check_rows(records, context)
    good = [row for row in parsed if row is not None]
    if dry_run:
        statuses, _ = await classify(session, program_id=active.program_id, rows=good)
    else:
        statuses = await apply_rows(session, active=active, rows=good, now=now)
    done = iter(statuses)
    return [
        BatchAnswer(
            _text_id(record),
            RowStatus.REFUSED if row is None else next(done),
            found,
        )
        for record, row, found in zip(records, parsed, problems, strict=True)
    ]


def _text_id(record: Mapping[str, Any]) -> str | None:
    value = record.get("external_id")
    return None if value is None else str(value)
