"""The transactional outbox: domain events written in the unit of work that caused them, and the
dispatcher that hands them to handlers after the commit.

A domain names its events in its own ``events.py`` as :class:`DomainEvent` subclasses (a
frozen Pydantic model with a class-level ``type`` such as ``"tiers.changed"`` and a
``version``). A service calls :func:`emit` inside its unit of work: the event is one more row
in ``outbox_events``, so it commits with the change that caused it and a rollback drops it.
Nothing is sent from inside a transaction.

The dispatcher (:mod:`patron.kit.dispatch`, run by ``patron worker`` and inside ``patron
serve``) hands each event to every :class:`Handler` that wants its type, after the commit. A
handler that only writes to the database takes effect exactly once; one with outside effects
(an HTTP call, an email) is called at least once and must be idempotent by ``(handler,
event)`` (:attr:`EventEnvelope.public_id` is stable across retries). Failures are retried
with exponential backoff until :data:`MAX_ATTEMPTS`, then the run is ``dead`` and waits for
an operator to retry it.

Delivery loops that keep their own schedules (webhook deliveries, outgoing messages) are
:class:`Poller`\\ s, run by the same worker next to the dispatcher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Database, Id, JsonType, UTCDateTime
from patron.kit.outbox_runs import (
    MAX_ATTEMPTS,
    backoff,
)
from patron.kit.raw import Sql, raw_of
from patron.kit.time import utcnow

ALL_EVENTS = "*"


class DomainEvent(BaseModel):
    """A fact a domain announces. Subclasses set ``type`` (``"<domain>.<verb>"``: a contract,
    never renamed) and ``version`` (raised when a field changes meaning or goes away; adding a
    field keeps the version). Fields are the payload, JSON-ready (ids, keys, integers, ISO
    times). A ``member_id`` field, when present, is also stored in its own column."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    version: ClassVar[int] = 1


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_undispatched",
            "id",
            sqlite_where=text("dispatched_at IS NULL"),
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(SmallInteger)
    program_id: Mapped[int | None] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # not before this time (a handler's retry is pending): newer events go first
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a dispatcher's claim on the event (:data:`CLAIM_LEASE`)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxHandlerRun(Base):
    __tablename__ = "outbox_handler_runs"
    __table_args__ = (UniqueConstraint("event_id", "handler"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    handler: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # done | retry | dead
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """An event as handlers receive it."""

    id: int
    type: str
    version: int
    program_id: int | None
    member_id: int | None
    occurred_at: datetime
    data: Mapping[str, Any]

    @property
    def public_id(self) -> str:
        """The id outsiders see (webhook ``webhook-id``); the same on every retry."""
        return f"evt_{self.id}"


Screen = Callable[[AsyncSession, Sequence["EventEnvelope"]], Awaitable[Sequence["EventEnvelope"]]]
HandleMany = Callable[[AsyncSession, Sequence["EventEnvelope"]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Handler:
    """Reacts to events. ``name`` is stable (it keys the handler's runs); ``events`` are the
    types it wants (:data:`ALL_EVENTS` for all). ``handle`` runs in a write unit of work of its
    own (or a savepoint of a shared one); raising means "try again later".

    Three optional ways to make a handler cheap on a busy outbox, none of which changes what
    it does:

    - ``applies`` looks at the event alone (no database) and says whether ``handle`` would
      do anything: a run it refuses is neither opened nor recorded.
    - ``screen`` gets a batch's events that are new to the handler (never attempted) in a
      read unit of work, and returns those it would act on: one query for the batch (the
      webhook endpoints, the active surveys) instead of one run each. The others are
      neither run nor recorded, as with ``applies``. Runs waiting for a retry are never
      screened: they run, and end done or dead.
    - ``handle_many`` does what ``handle`` does for each of many events, in one unit of work
      (one savepoint on PostgreSQL); the runs are recorded done together. If it raises, its
      writes roll back and each event is run alone with ``handle``, so a failing event
      retries alone and the others are done once."""

    name: str
    events: frozenset[str]
    handle: Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
    applies: Callable[[EventEnvelope], bool] | None = None
    screen: Screen | None = None
    handle_many: HandleMany | None = None

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events


def in_turn(handle: Callable[[AsyncSession, EventEnvelope], Awaitable[None]]) -> HandleMany:
    """A ``handle_many`` that runs ``handle`` for each event in turn, in the one unit of work:
    for a handler with nothing to share between events but its commit (a message queued per
    event). On SQLite each unit of work waits for the database's write lock, which the
    purchases' group commits hold most of the time under load: one wait for a batch's
    messages instead of one each (``docs/benchmarks.md``, accrual, 2026-12-06)."""

    async def handle_many(session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
        for event in events:
            await handle(session, event)

    return handle_many


@dataclass(frozen=True, slots=True)
class Poller:
    """A delivery loop with its own schedule, run next to the dispatcher. ``run_once`` does
    what is due at ``now`` and returns how many items it handled (0: idle)."""

    name: str
    run_once: Callable[[Database, datetime], Awaitable[int]]


_INSERT = Sql(
    "INSERT INTO outbox_events (type, version, program_id, member_id, occurred_at, payload)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)


async def emit(
    session: AsyncSession,
    event: DomainEvent,
    *,
    program_id: int | None,
    occurred_at: datetime | None = None,
) -> None:
    """Write ``event`` to the outbox in ``session``'s transaction."""
    raw = await raw_of(session)
    await raw.run(_INSERT, *_row(event, program_id, occurred_at or utcnow()))


def _row(event: DomainEvent, program_id: int | None, moment: datetime) -> tuple[Any, ...]:
    """The ``_INSERT`` parameters of ``event`` (its JSON straight from pydantic-core: compact,
    non-ASCII kept, as :func:`~patron.kit.raw.json_text` writes it)."""
    member_id = getattr(event, "member_id", None)
    member = member_id if isinstance(member_id, int) and not isinstance(member_id, bool) else None
    return (event.type, event.version, program_id, member, moment, event.model_dump_json())


async def emit_many(
    session: AsyncSession,
    events: Sequence[DomainEvent],
    *,
    program_id: int | None,
    occurred_at: datetime | None = None,
) -> None:
    """Write several events in one driver call (bulk imports); as :func:`emit` otherwise."""
    if not events:
        return
    moment = occurred_at or utcnow()
    raw = await raw_of(session)
    await raw.many(_INSERT, [_row(event, program_id, moment) for event in events])


__all__ = [
    "ALL_EVENTS",
    "MAX_ATTEMPTS",
    "DomainEvent",
    "EventEnvelope",
    "Handler",
    "OutboxEvent",
    "OutboxHandlerRun",
    "Poller",
    "backoff",
    "emit",
    "emit_many",
    "in_turn",
]
