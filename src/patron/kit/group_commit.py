"""Group commit: the writes of concurrent requests share one transaction and one commit.

Under load most of a small write's cost is not its statements but what surrounds them: opening
the unit of work, taking the connection, ``BEGIN``, and above all the commit (on SQLite the
pages written to the WAL; on PostgreSQL a WAL flush and a round trip). :class:`WriteGroups`
runs the units of work that arrive while a group is being written as the next group: one
transaction, each unit inside its own savepoint, one commit.

- Isolation: a unit that raises is rolled back to its savepoint alone and its caller gets its
  exception; the others are kept. Nothing is answered before the commit: if the commit fails,
  every unit of the group gets that error (none of them was written). If a unit's failure
  leaves the transaction unusable (a failed ORM flush), the group is rolled back and its other
  units run again in the next group.
- No waiting: a unit arriving at an idle moment runs at once, alone. Groups form only while
  earlier groups are being written, and hold at most ``max_group`` units.
- A group of one unit runs without a savepoint (two statements fewer): the transaction is
  the unit's own, so a failure rolls back the whole of it instead, and a deadlock victim runs
  once more in a new transaction.
- A unit that rarely fails may also be run without a savepoint in a larger group
  (``run(..., savepoint=False)``, one round trip fewer): when it raises, the group is rolled
  back and its other units run again in the next group, as after a failed flush.
- Prelude: a unit may ask its group to run a :class:`Prelude` first (one call of its ``run``
  per group, with the keys of every unit that asked for it, in the group's order), such as
  one statement that locks every row the units will lock. A prelude that raises fails the
  group before any unit ran: a deadlock victim's group runs again whole (after the pause
  below), any other error goes to every unit of the group.
- Order: the units of a group run one at a time (a unit sees the writes of the units before
  it, as if they had committed first), sorted by the ``order`` key their callers give; at most
  ``max_groups`` groups run at a time in a process (one on SQLite: there is one writer anyway).
- Locks: a unit's row locks are held until its group commits, so two groups locking the same
  rows in different orders could deadlock. Sorting by ``order`` (on PostgreSQL: the row the
  unit locks first, such as the member's account) makes every group lock in one order; a unit
  that still loses a deadlock (PostgreSQL's ``40P01``, say for a row that two units reach
  under different keys) is rolled back to its savepoint, which releases its locks, and run
  again after a short random pause, up to :data:`DEADLOCK_RERUNS` times. Without the pause
  the victim could take its first row back before the winner, which waits for it, is woken:
  the same deadlock again (seen in CI: a victim run once more at once lost a second time).

A unit of work must not commit, roll back or close the session it is given (services never do).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from patron.kit.db import Database, is_deadlock, pause_after_deadlock
from patron.kit.metrics import GROUP_COMMIT_SIZE
from patron.kit.raw import Raw, Sql, raw_of

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]
Keys = list[str]
DEADLOCK_RERUNS = 3
_SAVEPOINT = Sql("SAVEPOINT patron_unit")
_RELEASE = Sql("RELEASE SAVEPOINT patron_unit")
_ROLLBACK = Sql("ROLLBACK TO SAVEPOINT patron_unit")
_RELEASE_AND_SAVEPOINT = Sql("RELEASE SAVEPOINT patron_unit; SAVEPOINT patron_unit")


@dataclass(frozen=True, slots=True)
class Prelude:
    """What a unit asks its group to run before any unit: ``run(session, keys)`` once a
    group, ``keys`` those of the group's units that gave the same ``run``, in their order."""

    run: Callable[[AsyncSession, Keys], Awaitable[None]]
    key: str


@dataclass(slots=True)
class _Unit(Generic[T]):
    work: Work[T]
    future: asyncio.Future[T]
    order: str
    savepoint: bool = True
    prelude: Prelude | None = None
    result: Any = None
    error: BaseException | None = None
    reruns: int = 0  # times run again after losing a deadlock


@dataclass(slots=True)
class WriteGroups:
    """Group commit over one :class:`Database` (see the module docstring)."""

    database: Database
    max_group: int = 64
    max_groups: int = 1
    _pending: list[_Unit[Any]] = field(default_factory=list)
    _running: int = 0
    _drainers: set[asyncio.Task[None]] = field(default_factory=set)  # the loop holds tasks weakly

    async def run(
        self,
        work: Work[T],
        *,
        order: str = "",
        savepoint: bool = True,
        prelude: Prelude | None = None,
    ) -> T:
        """Run ``work(session)`` in the next group; its result once the group has committed,
        or the exception it raised (or the commit's). ``order`` places it in its group;
        ``savepoint=False`` runs it without one; ``prelude`` is run for its group before any
        unit (see the module docstring)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Unit(work, future, order, savepoint, prelude))
        if self._running < self.max_groups:
            self._running += 1
            drainer = asyncio.get_running_loop().create_task(self._drain())
            self._drainers.add(drainer)
            drainer.add_done_callback(self._drainers.discard)
        return await future

    async def _drain(self) -> None:
        writer = _Writer(self.database)
        try:
            while self._pending:
                group = self._pending[: self.max_group]
                del self._pending[: self.max_group]
                await self._write(group, writer)
        finally:
            self._running -= 1
            await writer.release()

    async def _write(self, group: list[_Unit[Any]], writer: _Writer) -> None:
        try:
            async with writer.unit_of_work() as session:
                group.sort(key=_order)
                await _run_preludes(session, group)
                if len(group) == 1:
                    await _run_alone(session, group[0])
                else:
                    await _run_units(session, group)
        except _TransactionLostError as lost:
            # a unit's failure left the transaction unusable (a failed ORM flush) or could not
            # be undone alone (no savepoint): nothing of the group was written or answered,
            # so its other units (and a deadlock victim) go first in the queue
            failed = lost.unit
            again = [unit for unit in group if unit is not failed]
            if failed.error is not None and _may_rerun(failed, failed.error):
                failed.reruns += 1
                again.append(failed)
                await pause_after_deadlock()
            else:
                _settle(failed.future, None, failed.error)
            for unit in again:
                unit.result, unit.error = None, None
            self._pending[:0] = again
            return
        except Exception as error:
            await self._failed(group, error)
            return
        except BaseException as error:
            for unit in group:
                _settle(unit.future, None, unit.error or error)
            raise
        GROUP_COMMIT_SIZE.observe(len(group))  # a group that committed
        for unit in group:
            _settle(unit.future, unit.result, unit.error)

    async def _failed(self, group: list[_Unit[Any]], error: Exception) -> None:
        """The group's transaction failed and was rolled back: a deadlock victim that was
        alone in it (a lone unit, or a prelude before any unit) runs again, first; otherwise
        every unit gets its own error or the group's."""
        before_units = False
        if isinstance(error, _PreludeError):
            error, before_units = error.error, True
        if (len(group) == 1 or before_units) and all(_may_rerun(u, error) for u in group):
            for unit in group:
                unit.reruns += 1
            await pause_after_deadlock()
            self._pending[:0] = group
            return
        for unit in group:
            _settle(unit.future, None, unit.error or error)


class _Writer:
    """The units of work of one drainer's groups. On PostgreSQL the drainer keeps one pooled
    connection from group to group (until the queue is empty, or a group fails) and gives each
    group a plain session bound to it, inside a transaction of that connection: the pool's
    checkout and return and the session maker's set-up cost about 0.2 ms of CPU per group, a
    tenth of a purchase in a group of two. On SQLite the write connection is the only one, so
    it is not held between groups (other writers would wait): each group is an ordinary
    ``Database.write()``."""

    __slots__ = ("connection", "database")

    def __init__(self, database: Database) -> None:
        self.database = database
        self.connection: AsyncConnection | None = None

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session in a new transaction: committed when the block ends, rolled back if it
        raises (and then the connection goes back to the pool; the next group takes
        another)."""
        if self.database.is_sqlite:
            async with self.database.write() as session:
                yield session
            return
        if self.connection is None:
            self.connection = await self.database.write_engine.connect()
        try:
            async with self.connection.begin():
                session = AsyncSession(bind=self.connection, expire_on_commit=False)
                try:
                    yield session
                finally:
                    # the connection's transaction is the group's; the session only joined it
                    await session.close()
        except BaseException:
            await self.release()
            raise

    async def release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            await connection.close()


class _TransactionLostError(Exception):
    def __init__(self, unit: _Unit[Any]) -> None:
        super().__init__("a unit of work left its group's transaction unusable")
        self.unit = unit


class _PreludeError(Exception):
    """A group's prelude raised ``error``: no unit of the group ran."""

    def __init__(self, error: Exception) -> None:
        super().__init__("a group's prelude failed")
        self.error = error


def _order(unit: _Unit[Any]) -> str:
    return unit.order


async def _run_preludes(session: AsyncSession, group: list[_Unit[Any]]) -> None:
    """Each distinct prelude ``run`` of the (sorted) group, once, with its units' keys."""
    keys: dict[Callable[[AsyncSession, Keys], Awaitable[None]], Keys] = {}
    for unit in group:
        if unit.prelude is not None:
            keys.setdefault(unit.prelude.run, []).append(unit.prelude.key)
    for run, wanted in keys.items():
        try:
            await run(session, wanted)
        except Exception as error:
            raise _PreludeError(error) from error


@dataclass(slots=True)
class _Savepoint:
    """The savepoint the units of a group run in, one after another. A unit that succeeds
    leaves its savepoint held: the next unit's start releases it and sets its own in one
    round trip on PostgreSQL (``RELEASE ...; SAVEPOINT ...``, two statements in one simple
    query), and the commit releases the last one. A unit that fails is rolled back to it and
    releases it."""

    held: bool = False

    async def enter(self, raw: Raw) -> None:
        if self.held and not raw.is_sqlite:
            await raw.run(_RELEASE_AND_SAVEPOINT)
        else:
            if self.held:
                await raw.run(_RELEASE)
            await raw.run(_SAVEPOINT)
        self.held = False


async def _run_units(session: AsyncSession, group: list[_Unit[Any]]) -> None:
    """The units of a group in their order, each in a savepoint unless it asked to run without
    one; a failure that its savepoint cannot undo loses the group's transaction."""
    savepoint = _Savepoint()
    for unit in group:  # sorted by order
        if unit.savepoint:
            await _run_unit(session, unit, savepoint)
        else:
            await _run_bare(session, unit)
        if unit.error is not None and not (unit.savepoint and _usable(session)):
            raise _TransactionLostError(unit)


async def _run_bare(session: AsyncSession, unit: _Unit[Any]) -> None:
    """A unit without a savepoint: what it raises is kept, and the group is rolled back."""
    try:
        await _run_alone(session, unit)
    except Exception as error:  # handed to the unit's caller (or it runs again)
        unit.error = error


async def _run_alone(session: AsyncSession, unit: _Unit[Any]) -> None:
    """The only unit of its group, in the group's transaction itself: what it raises rolls
    the transaction back (the caller's ``write()``) and goes to the unit's caller."""
    unit.result = await unit.work(session)
    if not session.sync_session._is_clean():
        await session.flush()


def _may_rerun(unit: _Unit[Any], error: BaseException) -> bool:
    return is_deadlock(error) and unit.reruns < DEADLOCK_RERUNS


async def _run_unit(session: AsyncSession, unit: _Unit[Any], savepoint: _Savepoint) -> None:
    while True:
        try:
            unit.result = await _in_savepoint(session, unit.work, savepoint)
            return
        except Exception as error:  # handed to the unit's caller
            unit.error = error
            if not _may_rerun(unit, error) or not _usable(session):
                return
            unit.error = None
            unit.reruns += 1
            await pause_after_deadlock()


async def _in_savepoint(session: AsyncSession, work: Work[T], savepoint: _Savepoint) -> T:
    """``work(session)`` inside a savepoint of the group's transaction, sent straight to the
    driver (SQLAlchemy's ``begin_nested`` costs about a tenth of a purchase). What the unit
    added through the ORM is flushed before it ends; after a rollback to its savepoint the
    session forgets every ORM object (later units load what they need again)."""
    raw = await raw_of(session)
    await savepoint.enter(raw)
    try:
        result = await work(session)
        if not session.sync_session._is_clean():
            await session.flush()
    except Exception:
        if _usable(session):
            await raw.run(_ROLLBACK)
            await raw.run(_RELEASE)
            session.expunge_all()
        raise
    savepoint.held = True
    return result


def _usable(session: AsyncSession) -> bool:
    """The session's transaction can go on (a failed ORM flush deactivates it)."""
    transaction = session.sync_session.get_transaction()
    return transaction is not None and transaction.is_active


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its caller went away (a cancelled request): the write stands
        return
    if isinstance(error, asyncio.CancelledError):  # the group was cancelled (shutdown)
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
