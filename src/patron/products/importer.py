"""``import_products``: load a product catalogue from a file (CSV, XLSX or Parquet).

The whole file is read and every row checked first. Refused rows are reported by row number,
column and reason; without ``skip_bad`` a file with a refused row loads nothing. A row whose
``sku`` an earlier row already used is refused too (``duplicate_sku``). With ``dry_run`` the
run stops after telling what each row would do (new, unchanged, updated, refused). The good
rows are written in batches of ``batch_size``, each its own unit of work; a product is
idempotent by SKU, so running the same file again changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.products import service
from patron.products.errors import ProductProblem
from patron.products.rows import OPTIONAL, REQUIRED, Problem, ProductRow, parse_product
from patron.products.schemas import ProductStatus
from patron.programs import service as program_service
from patron.programs.schema import Program
from patron.purchases.bulk.report import RowError
from patron.purchases.bulk.source import ROW, read_table

DEFAULT_BATCH_SIZE = 5_000
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ProductImportReport:
    """The figures of one catalogue import (``dry_run``: what it would have done)."""

    rows: int = 0
    new: int = 0
    unchanged: int = 0
    updated: int = 0
    refused: int = 0
    not_loaded: int = 0  # good rows left out because a refused row stopped the file
    dry_run: bool = False
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.errors

    def count(self, statuses: Sequence[ProductStatus]) -> None:
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
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "errors": [error.to_dict() for error in self.errors],
        }


def read_products(path: Path) -> pl.DataFrame:
    """The file's rows as text (any column Patron does not know is refused)."""
    return read_table(path, REQUIRED, OPTIONAL)


def check_rows(
    records: Iterable[Mapping[str, Any]], program: Program
) -> tuple[list[ProductRow | None], list[list[Problem]]]:
    """Each record parsed (``None`` where refused) and its problems; a repeated ``sku``
    refuses the later record."""
    parsed: list[ProductRow | None] = []
    problems: list[list[Problem]] = []
    seen: set[str] = set()
    for record in records:
        result = parse_product(record, program)
        if isinstance(result, ProductRow) and result.sku in seen:
            message = f"sku {result.sku!r} is on an earlier row"
            result = [Problem("sku", ProductProblem.DUPLICATE_SKU, message)]
        if isinstance(result, ProductRow):
            seen.add(result.sku)
            parsed.append(result)
            problems.append([])
        else:
            parsed.append(None)
            problems.append(result)
    return parsed, problems


async def import_products(
    database: Database,
    frame: pl.DataFrame,
    *,
    program_key: str = program_service.DEFAULT_KEY,
    dry_run: bool = False,
    skip_bad: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ProductImportReport:
    """Import the rows of :func:`read_products` into the catalogue of program ``program_key``
    (see the module docstring); ``progress(rows_done, rows_total)`` after each batch."""
    started = time.perf_counter()
    moment = now or utcnow()
    async with database.read() as session:
        active = await program_service.get_active_program(session, key=program_key)
    parsed, problems = check_rows(frame.drop(ROW).iter_rows(named=True), active.program)
    report = ProductImportReport(rows=frame.height, dry_run=dry_run)
    report.errors = [
        RowError(row, problem.column, problem.code.value, problem.message)
        for row, found in zip(frame[ROW].to_list(), problems, strict=True)
        for problem in found
    ]
    good = [row for row in parsed if row is not None]
    report.refused = len(parsed) - len(good)
    if report.errors and not skip_bad and not dry_run:
        report.not_loaded = len(good)
        good = []
    size = max(batch_size, 1)
    for start in range(0, len(good), size):
        batch = good[start : start + size]
        if dry_run:
            async with database.read() as session:
                statuses, _ = await service.classify(
                    session, program_id=active.program_id, rows=batch
                )
        else:
            async with database.write() as session:
                statuses = await service.apply_products(
                    session, program_id=active.program_id, rows=batch, now=moment
                )
        report.count(statuses)
        if progress is not None:
            progress(min(start + size, len(good)), len(good))
    report.seconds = time.perf_counter() - started
    return report
