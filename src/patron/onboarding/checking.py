"""Checking the rows of a members import, chunk by chunk, in other processes when the file is
large, so that the rows already checked are written while the next ones are checked.

Checking a row (:func:`~patron.onboarding.rows.parse_row`: the phone number above all) is
pure CPU work that needs no database, about as much as writing the member. A file of
:data:`PARALLEL_FROM_ROWS` rows or more is cut into chunks of :data:`CHUNK_ROWS`: this
process checks the first while helper processes (``spawn``: never a ``fork`` of a process
that holds database connections and Polars' threads) start and check the others, at most
:data:`AHEAD_CHUNKS` a helper ahead of what this process has taken. The chunks come back in
file order (:func:`check_chunks`), and a repeated ``external_id`` is found in this process,
in file order (:class:`Repeats`), so the result is the same as checking every row here.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Generator, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import polars as pl

from patron.onboarding.errors import RowProblem
from patron.onboarding.rows import Context, MemberRow, Problem, parse_row

# below this, starting a process (about a second of imports) costs more than it saves
PARALLEL_FROM_ROWS = 20_000
CHUNK_ROWS = 10_000
AHEAD_CHUNKS = 4  # chunks checked ahead per helper (bounds what waits in memory)
MAX_PROCESSES = 4
Checked = MemberRow | list[Problem]
Wire = tuple[Any, ...] | list[Problem]  # a row as MemberRow.to_wire gives it, or its problems
Split = tuple[list[MemberRow | None], list[list[Problem]]]


def default_processes() -> int:
    """The processes of a large import: the cores this process may use, at most 4 (this
    one writes; the others check)."""
    return max(1, min(len(os.sched_getaffinity(0)), MAX_PROCESSES))


def parse_rows(records: Iterable[Mapping[str, Any]], context: Context) -> list[Checked]:
    """Each record as a :class:`MemberRow` or its problems (no check across rows)."""
    return [parse_row(record, context) for record in records]


def _parse_frame(frame: pl.DataFrame, context: Context) -> list[Checked]:
    return parse_rows(frame.iter_rows(named=True), context)


def _parse_elsewhere(frame: pl.DataFrame, context: Context) -> list[Wire]:
    """In a helper process: the results with good rows as :meth:`MemberRow.to_wire` tuples
    (a quarter of what pickling the rows costs; ``tests/onboarding/test_checking.py``)."""
    return [
        result.to_wire() if isinstance(result, MemberRow) else result
        for result in _parse_frame(frame, context)
    ]


def _from_wire(found: list[Wire]) -> list[Checked]:
    return [MemberRow.from_wire(item) if isinstance(item, tuple) else item for item in found]


class Repeats:
    """Splits checked results into rows (``None`` where refused) and problems, chunk after
    chunk in file order; a row whose ``external_id`` an earlier row used is refused."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def split(self, checked: Sequence[Checked]) -> Split:
        parsed: list[MemberRow | None] = []
        problems: list[list[Problem]] = []
        seen = self.seen
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


def refuse_repeats(checked: Sequence[Checked]) -> Split:
    """:meth:`Repeats.split` of one list of results."""
    return Repeats().split(checked)


def check_chunks(
    frame: pl.DataFrame,
    context: Context,
    *,
    processes: int | None = None,
    chunk_rows: int | None = None,
) -> Generator[Split, None, None]:
    """Every row of ``frame`` (the columns of the file, no row numbers) checked, as one
    :data:`Split` per chunk of ``chunk_rows`` (default :data:`CHUNK_ROWS`) rows in file
    order. A large file is checked by ``processes - 1`` helper processes (default:
    :func:`default_processes`) while the caller works on the chunks already given; a small
    one here, in one chunk. Closing the generator early drops the chunks not yet started."""
    count = processes if processes is not None else default_processes()
    repeats = Repeats()
    if count <= 1 or frame.height < PARALLEL_FROM_ROWS:
        yield repeats.split(_parse_frame(frame, context))
        return
    size = max(chunk_rows or CHUNK_ROWS, 1)
    chunks = deque(frame.slice(start, size) for start in range(size, frame.height, size))
    spawn = multiprocessing.get_context("spawn")
    helpers = count - 1
    with ProcessPoolExecutor(helpers, mp_context=spawn) as pool:
        waiting: deque[Future[list[Wire]]] = deque()

        def submit() -> None:
            while chunks and len(waiting) < helpers * AHEAD_CHUNKS:
                waiting.append(pool.submit(_parse_elsewhere, chunks.popleft(), context))

        try:
            submit()
            # this process checks the first chunk while the helpers start (a second of imports)
            yield repeats.split(_parse_frame(frame.slice(0, size), context))
            while waiting:
                found = waiting.popleft().result()
                submit()
                yield repeats.split(_from_wire(found))
        finally:  # the caller stopped early: the chunks not started are dropped
            pool.shutdown(cancel_futures=True)


def check_frame(frame: pl.DataFrame, context: Context, *, processes: int | None = None) -> Split:
    """Every row of ``frame`` checked (:func:`check_chunks`), as one :data:`Split`."""
    parsed: list[MemberRow | None] = []
    problems: list[list[Problem]] = []
    for rows, found in check_chunks(frame, context, processes=processes):
        parsed.extend(rows)
        problems.extend(found)
    return parsed, problems
