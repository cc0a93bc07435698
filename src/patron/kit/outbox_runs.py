"""The dispatcher's batch bookkeeping (:mod:`patron.kit.outbox`): reading the runs of a batch of
claimed events, recording how many handler runs went in one statement, and settling the
batch's events (dispatched, or set aside until a retry is due) in one more.

A handler run is a row of ``outbox_handler_runs`` keyed ``(event_id, handler)``: ``done``,
``retry`` (with ``next_attempt_at``, exponential :func:`backoff`) or ``dead`` (after
:data:`MAX_ATTEMPTS`). On PostgreSQL each batched write is one statement over ``unnest``\\ ed
arrays (one round trip, one plan whatever the batch's size); SQLite runs the same statement per
row through one ``executemany`` (in-process: no round trip to save).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.raw import Sql, raw_of, read_time

if TYPE_CHECKING:
    from patron.kit.outbox import EventEnvelope

MAX_ATTEMPTS = 12
"""Attempts before a handler run is dead: backoff 2 s, 4 s, ... 68 min, about 2.3 h in all."""


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 2 s doubling, at most an hour and a bit."""
    return timedelta(seconds=2 ** min(attempts, MAX_ATTEMPTS))


@dataclass(frozen=True, slots=True)
class RunState:
    """A run recorded before: its status, attempts so far, when it may be tried again."""

    status: str
    attempts: int
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one handler run went: ``retry_at`` is set when it failed and will be retried;
    ``attempt`` is the run's attempts with this one."""

    handler: str
    event: EventEnvelope
    status: str  # done | retry | dead
    attempt: int
    retry_at: datetime | None = None
    error: str | None = None
    error_type: str = ""


def done(handler: str, event: EventEnvelope, attempt: int) -> Attempt:
    return Attempt(handler, event, "done", attempt)


def failed(
    handler: str, event: EventEnvelope, attempt: int, moment: datetime, error: Exception
) -> Attempt:
    """The failed ``attempt``: retried after :func:`backoff`, or dead after
    :data:`MAX_ATTEMPTS`. The error's text is kept (2,000 characters) for ``patron events
    dead``; its type for the worker's log line."""
    dead = attempt >= MAX_ATTEMPTS
    return Attempt(
        handler,
        event,
        "dead" if dead else "retry",
        attempt,
        None if dead else moment + backoff(attempt),
        f"{type(error).__name__}: {error}"[:2000],
        f"{type(error).__module__}.{type(error).__qualname__}",
    )


# a join on the unnested ids, not ``event_id = ANY($1)``: before the table has statistics
# (a new database, the first minute after a bulk of runs) the generic plan of ``= ANY`` of
# an array parameter is a sequential scan testing each row against every id of the batch,
# 2.5 ms for 4,000 runs and 150 ids, growing with the table; the join hashes the ids (or,
# with statistics of a large table, probes the (event_id, handler) index per id)
_READ_RUNS_PG = Sql(
    "SELECT r.event_id, r.handler, r.status, r.attempts, r.next_attempt_at "
    "FROM unnest($1::bigint[]) AS e (id) JOIN outbox_handler_runs r ON r.event_id = e.id"
)


async def read_runs(
    session: AsyncSession, event_ids: Sequence[int]
) -> dict[tuple[int, str], RunState]:
    """The recorded runs of the events, by ``(event_id, handler)``: one statement."""
    if not event_ids:
        return {}
    raw = await raw_of(session)
    if raw.is_sqlite:
        marks = ", ".join(f"${n}" for n in range(1, len(event_ids) + 1))
        rows = await raw.all(
            Sql(
                "SELECT event_id, handler, status, attempts, next_attempt_at "
                f"FROM outbox_handler_runs WHERE event_id IN ({marks})"
            ),
            *event_ids,
        )
    else:
        rows = await raw.all(_READ_RUNS_PG, list(event_ids))
    return {
        (int(row[0]), str(row[1])): RunState(str(row[2]), int(row[3]), read_time(row[4]))
        for row in rows
    }


_UPSERT_TAIL = (
    " ON CONFLICT (event_id, handler) DO UPDATE SET status = excluded.status, "
    "attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at, "
    "last_error = excluded.last_error, updated_at = excluded.updated_at"
)
_RECORD_ONE = Sql(
    "INSERT INTO outbox_handler_runs (event_id, handler, status, attempts, next_attempt_at, "
    "last_error, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)" + _UPSERT_TAIL
)
_RECORD_BATCH_PG = Sql(
    "INSERT INTO outbox_handler_runs (event_id, handler, status, attempts, next_attempt_at, "
    "last_error, updated_at) SELECT r.event_id, r.handler, r.status, r.attempts, r.next_at, "
    "r.error, $7 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], "
    "$5::timestamptz[], $6::text[]) AS r (event_id, handler, status, attempts, next_at, error)"
    + _UPSERT_TAIL
)


async def record_attempts(
    session: AsyncSession, attempts: Sequence[Attempt], moment: datetime
) -> None:
    """Upsert the runs of ``attempts`` in ``session``'s unit of work (the one that holds the
    handlers' writes, so a run's writes and its ``done`` commit together): one statement."""
    if not attempts:
        return
    raw = await raw_of(session)
    if raw.is_sqlite:
        await raw.many(
            _RECORD_ONE,
            [
                (a.event.id, a.handler, a.status, a.attempt, a.retry_at, a.error, moment)
                for a in attempts
            ],
        )
        return
    await raw.run(
        _RECORD_BATCH_PG,
        [a.event.id for a in attempts],
        [a.handler for a in attempts],
        [a.status for a in attempts],
        [a.attempt for a in attempts],
        [a.retry_at for a in attempts],
        [a.error for a in attempts],
        moment,
    )


_SETTLE_ONE = Sql(
    "UPDATE outbox_events SET dispatched_at = $2, due_at = COALESCE($3, due_at), "
    "claimed_until = NULL WHERE id = $1"
)
_SETTLE_BATCH_PG = Sql(
    "UPDATE outbox_events AS e SET dispatched_at = s.done_at, "
    "due_at = COALESCE(s.due_at, e.due_at), claimed_until = NULL "
    "FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS s (id, done_at, due_at) "
    "WHERE e.id = s.id"
)


async def settle_events(
    session: AsyncSession,
    finished: Iterable[int],
    waiting: dict[int, datetime],
    moment: datetime,
) -> None:
    """Release the batch's claim: ``finished`` events (every handler done or dead) are
    dispatched at ``moment``; ``waiting`` ones wait until their earliest retry is due
    (``due_at``), so they never hold up newer events. One statement."""
    rows: list[tuple[int, datetime | None, datetime | None]] = [
        (event_id, moment, None) for event_id in finished
    ]
    rows += [(event_id, None, due_at) for event_id, due_at in waiting.items()]
    if not rows:
        return
    raw = await raw_of(session)
    if raw.is_sqlite:
        await raw.many(_SETTLE_ONE, rows)
        return
    await raw.run(
        _SETTLE_BATCH_PG, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    )
