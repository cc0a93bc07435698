"""The worker loop: the outbox dispatcher and every poller of :mod:`patron.worker.registry`,
round after round, sleeping briefly when a round found nothing to do.

Run by ``patron worker`` (its own process) and, unless ``--no-worker``, inside ``patron
serve``. Several loops may run at once on PostgreSQL (dispatchers claim events ``FOR UPDATE
SKIP LOCKED``); on SQLite one is enough (they would only queue for the write lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from patron.kit.db import Database
from patron.kit.dispatch import CLAIM_LIMIT, Failure, dispatch_pending
from patron.kit.outbox import Handler, Poller
from patron.kit.time import utcnow
from patron.worker import registry

IDLE_SECONDS = 0.5
GATHER_SECONDS = 0.1
"""After a round that claimed events, but less than half a batch, the loop waits this long so
that the next round claims a fuller batch: under a steady stream (a till's purchases, hundreds
a second) back-to-back rounds would each pay a round's fixed cost (three commits, each
poller's query) for a handful of events, in the processes and on the database that record
the purchases. It adds at most this much to an event's lag. A backlog (full batches), a
round of pollers only and ``once`` go on without pause."""
log = logging.getLogger("patron.worker")


@dataclass(slots=True)
class RoundReport:
    events: int = 0
    handled: int = 0
    failed: int = 0
    polled: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.events or self.polled)


async def run_round(
    database: Database, handlers: list[Handler], pollers: list[Poller]
) -> RoundReport:
    """One dispatch of due events and one run of each poller. A poller's failure is logged
    and does not stop the round."""
    report = RoundReport()
    dispatched = await dispatch_pending(database, handlers)
    report.events, report.handled, report.failed = (
        dispatched.events,
        dispatched.handled,
        dispatched.failed,
    )
    for failure in dispatched.failures:
        _log_failure(failure)
    for poller in pollers:
        try:
            report.polled += await poller.run_once(database, utcnow())
        except Exception:  # one broken delivery loop must not stop the others
            log.exception("poller failed", extra={"event": "poller_failed", "poller": poller.name})
    return report


def pause_after(report: RoundReport, *, gather_seconds: float, once: bool = False) -> float:
    """Seconds to wait before the next round after a busy ``report`` (:data:`GATHER_SECONDS`)."""
    if once or not 0 < report.events < CLAIM_LIMIT // 2:
        return 0.0
    return gather_seconds


def _log_failure(failure: Failure) -> None:
    """One line per failed handler run: ``handler_failed`` (to be retried, a warning) or
    ``dead_letter`` (no attempt left, an error). Ids and types only: the error's message is in
    the run's ``last_error`` (``patron events dead``)."""
    fields = {
        "event": "dead_letter" if failure.dead else "handler_failed",
        "handler": failure.handler,
        "event_id": failure.event_id,
        "event_type": failure.event_type,
        "attempt": failure.attempt,
        "error": failure.error_type,
        "retry_at": None if failure.retry_at is None else failure.retry_at.isoformat(),
    }
    if failure.dead:
        log.error("dead letter", extra=fields)
    else:
        log.warning("handler failed", extra=fields)


async def run_worker(
    database: Database,
    *,
    once: bool = False,
    stop: asyncio.Event | None = None,
    idle_seconds: float = IDLE_SECONDS,
    gather_seconds: float = GATHER_SECONDS,
    on_round: Callable[[RoundReport], None] | None = None,
    handlers: list[Handler] | None = None,
    pollers: list[Poller] | None = None,
) -> RoundReport:
    """Run rounds until ``stop`` is set; with ``once``, until a round finds nothing due (the
    backlog is drained). Returns the totals. ``handlers`` and ``pollers`` default to every
    feature's (:mod:`patron.worker.registry`)."""
    handlers = registry.handlers() if handlers is None else handlers
    pollers = registry.pollers() if pollers is None else pollers
    stopping = stop or asyncio.Event()
    total = RoundReport()
    while not stopping.is_set():
        try:
            report = await run_round(database, handlers, pollers)
        except Exception:  # the database went away for a moment: try again after a pause
            log.exception("worker round failed", extra={"event": "round_failed"})
            report = RoundReport()
        total.events += report.events
        total.handled += report.handled
        total.failed += report.failed
        total.polled += report.polled
        if on_round is not None and report.busy:
            on_round(report)
        if report.busy:
            pause = pause_after(report, gather_seconds=gather_seconds, once=once)
        elif once:
            break
        else:
            pause = idle_seconds
        if pause:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), pause)
    return total
