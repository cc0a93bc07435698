"""Long work on the event loop, in slices: :class:`Pace` yields to the loop between steps.

SQLite runs in the loop's thread (:mod:`patron.kit.sqlite_inline`), and an ``await`` that
does not wait (a SQLite call, a coroutine that returns at once) never lets another task run:
a 500-purchase batch recorded without a break kept ``/healthz`` waiting for its whole 2.4 s
(20 s before the batch caps; issue 16). A loop over many steps calls ``await pace.step()``
after each one; once ``slice_seconds`` have passed since the last break it sleeps for no time
(``asyncio.sleep(0)``), so the loop serves what arrived meanwhile, then goes on. A step costs
a clock read between breaks. The work keeps its transaction and its locks across the breaks:
on SQLite other writers wait for the write connection in the pool, as they would anyway, while
reads and requests that do not touch the database are answered.
"""

from __future__ import annotations

import asyncio
import time

SLICE_SECONDS = 0.005


class Pace:
    """Breaks for the event loop every ``slice_seconds`` of work (see the module docstring)."""

    __slots__ = ("_since", "slice_seconds")

    def __init__(self, slice_seconds: float = SLICE_SECONDS) -> None:
        self.slice_seconds = slice_seconds
        self._since = time.perf_counter()

    async def step(self) -> None:
        """One step of the work is done: yield to the loop if this slice is used up."""
        if time.perf_counter() - self._since >= self.slice_seconds:
            await asyncio.sleep(0)
            self._since = time.perf_counter()
