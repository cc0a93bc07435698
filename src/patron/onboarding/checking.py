"""Checking the rows of a members import, in more than one process when the file is large.

Checking a row (:func:`~patron.onboarding.rows.parse_row`: the phone number above all) is
pure CPU work that needs no database, about 40 % of what a member costs to import. A file of
:data:`PARALLEL_FROM_ROWS` rows or more is cut into equal slices: this process checks the
first while helper processes (``spawn``: never a ``fork`` of a process that holds database
connections and Polars' threads) check the others, and the results come back in file order.
A repeated ``external_id`` is found afterwards, in this process, in file order, so the result
is the same as checking every row here.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import polars as pl

from patron.onboarding.errors import RowProblem
from patron.onboarding.rows import Context, MemberRow, Problem, parse_row

# below this, starting a process (about a second of imports) costs more than it saves
PARALLEL_FROM_ROWS = 20_000
MAX_PROCESSES = 4
Checked = MemberRow | list[Problem]
Wire = tuple[Any, ...] | list[Problem]  # a row as MemberRow.to_wire gives it, or its problems
Split = tuple[list[MemberRow | None], list[list[Problem]]]


def default_processes() -> int:
    """The processes that check rows: the cores this process may use, at most 4."""
    return max(1, min(len(os.sched_getaffinity(0)), MAX_PROCESSES))


def parse_rows(records: Iterable[Mapping[str, Any]], context: Context) -> list[Checked]:
    """Each record as a :class:`MemberRow` or its problems (no check across rows)."""
    return [parse_row(record, context) for record in records]


def _parse_frame(frame: pl.DataFrame, context: Context) -> list[Checked]:
    return parse_rows(frame.iter_rows(named=True), context)


def _parse_elsewhere(
    frame: pl.DataFrame, context: Context
) -> list[tuple[Any, ...] | list[Problem]]:
    """In a helper process: the results with good rows as :meth:`MemberRow.to_wire` tuples
    (a quarter of what pickling the rows costs; ``tests/onboarding/test_checking.py``)."""
    return [
        result.to_wire() if isinstance(result, MemberRow) else result
        for result in _parse_frame(frame, context)
    ]


def refuse_repeats(checked: Sequence[Checked]) -> Split:
    """Split the results into rows (``None`` where refused) and problems; a row whose
    ``external_id`` an earlier row used is refused."""
    parsed: list[MemberRow | None] = []
    problems: list[list[Problem]] = []
    seen: set[str] = set()
    for result in checked:
        if isinstance(result, MemberRow) and result.external_id in seen:
            message = f"external_id {result.external_id!r} is on an earlier row"
            result = [Problem("external_id", RowProblem.DUPLICATE_EXTERNAL_ID, message)]
        if isinstance(result, MemberRow):
            seen.add(result.external_id)
            parsed.append(result)
            problems.append([])
        else:
            parsed.append(None)
            problems.append(result)
    return parsed, problems


def check_frame(frame: pl.DataFrame, context: Context, *, processes: int | None = None) -> Split:
    """Every row of ``frame`` (the columns of the file, no row numbers) checked, in
    ``processes`` processes (default: :func:`default_processes`) when it is large."""
    count = processes if processes is not None else default_processes()
    if count <= 1 or frame.height < PARALLEL_FROM_ROWS:
        return refuse_repeats(_parse_frame(frame, context))
    size = -(-frame.height // count)
    slices = [frame.slice(start, size) for start in range(0, frame.height, size)]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(slices) - 1, mp_context=spawn) as pool:
        others: list[Future[list[Wire]]] = [
            pool.submit(_parse_elsewhere, part, context) for part in slices[1:]
        ]
        checked = _parse_frame(slices[0], context)
        for future in others:
            checked.extend(
                MemberRow.from_wire(found) if isinstance(found, tuple) else found
                for found in future.result()
            )
    return refuse_repeats(checked)
