"""``import_members``: load a file of members (CSV, XLSX or Parquet), and the batch API.

The rows are checked chunk by chunk (other processes check a large file's next chunks while
this one writes: :mod:`~patron.onboarding.checking`) and written in batches of
``batch_size`` (:mod:`~patron.onboarding.members`); running the same file again changes
nothing. Refused rows are reported by row number, column and reason; a row whose
``external_id`` an earlier row already used is refused too.

- Without ``skip_bad`` the file is one unit of work: a refused row anywhere (or a crash)
  loads nothing, and the rest of the file is still checked so that every refused row is
  reported. On SQLite this holds the write lock for the whole import.
- With ``skip_bad`` each batch is its own unit of work, and only the refused rows are left
  out.
- With ``dry_run`` nothing is written: each row is told as new, unchanged, updated or
  refused.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.onboarding.checking import Split, check_chunks, parse_rows, refuse_repeats
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
    ``check_processes`` bounds the processes of a large file (default: the cores, at most 4;
    :mod:`~patron.onboarding.checking`)."""
    started = time.perf_counter()
    moment = now or utcnow()
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=program_key)
    context = Context(active.program, moment, phone_region, tuple(attributes))
    report = MemberImportReport(rows=frame.height, dry_run=dry_run)
    loader = _Loader(database, active, moment, report, frame[ROW].to_list(), progress)
    chunks = check_chunks(frame.drop(ROW), context, processes=check_processes)
    # The rows checked so far (about ten objects each) are kept off the garbage collector
    # while the batches run: a million of them made every full collection walk ten million
    # objects, and the writes allocate enough to run one every few batches (docs/
    # benchmarks.md, "Members import"). They hold no reference cycles; reference counting
    # frees them as ever, and the collector gets them back at the end.
    try:
        if skip_bad or dry_run:
            await loader.feed(chunks, None, max(batch_size, 1))
        else:
            await loader.all_or_nothing(chunks, max(batch_size, 1))
    finally:
        chunks.close()  # after a failed write: no helper goes on checking
        gc.unfreeze()
    if progress is not None:
        progress(frame.height, frame.height)
    report.seconds = time.perf_counter() - started
    return report


class _RefusedRowError(Exception):
    """A refused row was found: the file's unit of work rolls back."""


class _Loader:
    """Takes the checked chunks in file order, reports their refused rows and writes their
    good rows in batches while the next chunks are being checked."""

    def __init__(
        self,
        database: Database,
        active: ActiveProgram,
        now: datetime,
        report: MemberImportReport,
        row_numbers: list[int],
        progress: Progress | None,
    ) -> None:
        self.database = database
        self.active = active
        self.now = now
        self.report = report
        self.row_numbers = row_numbers
        self.progress = progress
        self.done = 0  # rows of the file taken from the chunks

    def note(
        self, parsed: list[MemberRow | None], problems: list[list[Problem]]
    ) -> list[MemberRow]:
        """Report the chunk's refused rows; its good rows."""
        numbers = self.row_numbers[self.done : self.done + len(parsed)]
        self.done += len(parsed)
        self.report.errors.extend(
            RowError(number, problem.column, problem.code.value, problem.message)
            for number, found in zip(numbers, problems, strict=True)
            for problem in found
        )
        good = [row for row in parsed if row is not None]
        self.report.refused += len(parsed) - len(good)
        gc.freeze()
        return good

    async def feed(self, chunks: Iterator[Split], session: AsyncSession | None, size: int) -> None:
        """Write the chunks' good rows, each batch in its own unit of work, or in ``session``
        (then a refused row raises :class:`_RefusedRowError` at once)."""
        pending: list[MemberRow] = []
        for parsed, problems in chunks:
            pending.extend(self.note(parsed, problems))
            if session is not None and self.report.errors:
                raise _RefusedRowError
            while len(pending) >= size:
                await self.write(pending[:size], session)
                del pending[:size]
        if pending:
            await self.write(pending, session)

    async def all_or_nothing(self, chunks: Iterator[Split], size: int) -> None:
        """The whole file in one unit of work: a refused row anywhere loads nothing (the
        rest of the file is still checked, to report every refused row)."""
        try:
            async with self.database.write() as session:
                await self.feed(chunks, session, size)
        except _RefusedRowError:
            for parsed, problems in chunks:
                self.note(parsed, problems)
            report = self.report
            report.new = report.unchanged = report.updated = report.opening_points = 0
            report.not_loaded = report.rows - report.refused

    async def write(self, batch: list[MemberRow], session: AsyncSession | None) -> None:
        if self.report.dry_run:
            async with self.database.read() as reader:
                statuses, _ = await classify(reader, program_id=self.active.program_id, rows=batch)
        elif session is None:
            async with self.database.write() as writer:
                statuses = await apply_rows(writer, active=self.active, rows=batch, now=self.now)
        else:
            statuses = await apply_rows(session, active=self.active, rows=batch, now=self.now)
            session.expunge_all()  # what a batch loaded stays out of the file's long session
        self.report.count(statuses)
        self.report.opening_points += sum(
            row.opening_points
            for row, status in zip(batch, statuses, strict=True)
            if status is RowStatus.NEW
        )
        if self.progress is not None:
            self.progress(self.done, self.report.rows)


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
