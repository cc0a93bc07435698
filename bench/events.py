"""What the outbox costs the purchase path: purchases/s with and without the events of a
purchase (``purchases.recorded`` and ``ledger.credited``), on SQLite and PostgreSQL.

    python bench/events.py [--db sqlite|postgresql|both] [--seconds 5] [--rounds 2]
                           [--concurrency 8] [--members 2000]
                           [--url postgresql://postgres@127.0.0.1:54341/postgres]
                           [--pg-data /tmp/patron-bench-pg] [--workers 0]
                           [--dispatch-seconds 8]

For each database it builds a fresh one (a SQLite file in a temporary directory, or the
database ``patron_bench_events`` on the PostgreSQL server of ``--url``, dropped first; start a
server with ``.ci/postgres.sh 54341 /tmp/patron-bench-pg``), applies the seed program and
enrols ``--members`` members, and dispatches the members' events (a welcome message each, the
``signup`` campaigns) before anything else, timed on their own. Then it records purchases
in-process the way ``POST /api/v1/purchases`` does after parsing (the direct lane:
``record_purchase`` in units of work joined by group commit, ``--concurrency`` callers at once,
savepoints on SQLite only; the active program read once per group), one member purchase of
three lines each (coffee, tea, cakes: about 200 points, so every purchase writes both events;
on PostgreSQL by the fused statement), for ``--seconds`` per run. Runs alternate without and
with the events (``patron.purchases.events.EMIT``, the switch that exists for this baseline),
``--rounds`` of each, and the medians of each mode are compared (steadier on a shared machine
than the best or the mean). It prints purchases/s of each run and the CPU time a purchase took
(this process's, plus the server's processes' when ``--pg-data`` names the cluster's directory
and the script may read ``/proc``): on a shared machine the CPU figures are the steadier ones.
Then the ratio with/without, the events written, and how fast the dispatcher (every handler of
``patron worker``, no webhook endpoint or message channel configured) drains them: events/s.

With ``--workers N`` the dispatcher runs instead *alongside* the runs with events, in ``N``
processes of its own (as ``patron worker``s; on SQLite one is the supported setting), and
each such run prints the events written and dispatched per second, how many were left at its
end, and the lag p50/p99 from an event's ``occurred_at`` (the purchase's time) to its
dispatch, over every event of the run (one still undispatched counted up to the run's end):
whether the dispatcher keeps up with the accrual load. What was left is drained before
the next run. The purchases take real time (the last Tuesday 10:00 UTC) so that the lag
is real. No HTTP: the server's
parsing and answering cost the same in both modes and would only dilute the ratio
(``bench/accrual.py`` measures the whole path).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import random
import statistics
import tempfile
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from postgres_cpu import cluster_cpu_seconds, postmaster_of
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database, database_url, null_pool_engine
from patron.kit.dispatch import dispatch_pending
from patron.kit.group_commit import WriteGroups
from patron.kit.outbox import OutboxEvent
from patron.kit.raw import read_time
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.migrations import create_all
from patron.programs.schemas import ActiveProgram
from patron.programs.service import apply_program, get_active_program
from patron.purchases import buyer, earn
from patron.purchases import events as purchase_events
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate
from patron.worker import registry

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "examples" / "seed-program.yaml"
# real time: the events' occurred_at is the purchase's ``now``, and the dispatch lag runs from it
NOW = datetime.now(UTC)
_TUESDAY = NOW.date() - timedelta(days=(NOW.weekday() - 1) % 7 or 7)
AT = datetime.combine(_TUESDAY, time(10, 0), tzinfo=UTC)  # the last Tuesday before NOW
DATABASE_NAME = "patron_bench_events"
_ACTIVE = "bench.events.active"
_LINES = [
    PurchaseLineCreate(sku="cof-1", category="coffee", quantity=1, unit_price="500.00"),
    PurchaseLineCreate(sku="tea-1", category="tea", quantity=1, unit_price="700.00"),
    PurchaseLineCreate(sku="cake", category="cakes", quantity=2, unit_price="250.00"),
]


async def _database(kind: str, url: str, directory: Path) -> Database:
    if kind == "sqlite":
        target = database_url(str(directory / "events.db"))
    else:
        engine = null_pool_engine(url)
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(
                text(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
            )
            await connection.execute(text(f'CREATE DATABASE "{DATABASE_NAME}"'))
        await engine.dispose()
        target = make_url(database_url(url)).set(database=DATABASE_NAME).render_as_string(False)
    await create_all(target)
    return Database(target)


async def _prepare(database: Database, members: int) -> None:
    async with database.write() as session:
        await apply_program(session, text=SEED.read_text(), created_by="bench", now=NOW)
    for start in range(0, members, 500):
        async with database.write() as session:
            program_id = (await get_active_program(session)).program_id
            for number in range(start, min(start + 500, members)):
                await member_service.enrol_member(
                    session,
                    program_id=program_id,
                    data=MemberCreate(external_id=f"m-{number}"),
                    now=NOW,
                )


async def _active_of_group(session: AsyncSession) -> ActiveProgram:
    """As the purchase route: the active program read once per commit group."""
    active: ActiveProgram | None = session.info.get(_ACTIVE)
    if active is None:
        active = await get_active_program(session)
        session.info[_ACTIVE] = active
    return active


async def _run(
    database: Database,
    label: str,
    seconds: float,
    concurrency: int,
    members: int,
    postmaster: int | None,
) -> tuple[float, float]:
    """Record purchases for ``seconds``; purchases/s and the CPU µs a purchase (this process
    and, when known, the PostgreSQL server's)."""
    groups = WriteGroups(database)
    numbers = itertools.count()
    rng = random.Random(label)
    deadline = clock.perf_counter() + seconds
    done = 0

    async def caller() -> None:
        nonlocal done
        while clock.perf_counter() < deadline:
            data = PurchaseCreate(
                external_id=f"{label}-{next(numbers)}",
                member_external_id=f"m-{rng.randrange(members)}",
                occurred_at=AT,
                currency="RUB",
                total="1700.00",
                lines=_LINES,
            )

            async def unit(session: AsyncSession, data: PurchaseCreate = data) -> None:
                active = await _active_of_group(session)
                moment = datetime.now(UTC)  # the events' occurred_at: the lag starts here
                await earn.record_purchase(session, active=active, data=data, now=moment)

            await groups.run(unit, order=buyer.lock_order(data), savepoint=database.is_sqlite)
            done += 1

    started, cpu = clock.perf_counter(), clock.process_time() + _server_cpu(postmaster)
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    spent = clock.process_time() + _server_cpu(postmaster) - cpu
    return done / (clock.perf_counter() - started), spent / done * 1e6


def _server_cpu(postmaster: int | None) -> float:
    """CPU seconds of the PostgreSQL server's processes so far; 0 without."""
    return 0.0 if postmaster is None else cluster_cpu_seconds(postmaster)


def _postmaster(data: str | None) -> int | None:
    return None if data is None else postmaster_of(data)


async def _count_events(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


async def _drain(database: Database, budget: float) -> tuple[int, float]:
    """Dispatch the outbox with every handler for at most ``budget`` seconds."""
    handlers = registry.handlers()
    dispatched, started = 0, clock.perf_counter()
    while clock.perf_counter() - started < budget:
        report = await dispatch_pending(database, handlers, limit=500)
        if not report.events:
            break
        dispatched += report.events
    return dispatched, clock.perf_counter() - started


def _worker_main(url: str, stop: Any, results: Any, limit: int) -> None:
    """A ``patron worker`` of its own process: dispatch with every handler until ``stop``."""
    asyncio.run(_worker(url, stop, results, limit))


async def _worker(url: str, stop: Any, results: Any, limit: int) -> None:
    database = Database(url)
    handlers = registry.handlers()
    events = (await dispatch_pending(database, handlers, limit=limit)).events
    results.put(-1)  # ready: imported, connected
    try:
        while not stop.is_set():
            report = await dispatch_pending(database, handlers, limit=limit)
            events += report.events
            if not report.events:
                await asyncio.sleep(0.05)  # the worker's idle pause, shortened
    finally:
        await database.dispose()
        results.put(events)


class _Workers:
    """``count`` dispatcher processes, running while the accrual load runs."""

    def __init__(self, url: str, count: int, limit: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop, self.results = context.Event(), context.Queue()
        self.processes = [
            context.Process(target=_worker_main, args=(url, self.stop, self.results, limit))
            for _ in range(count)
        ]

    def start(self) -> None:
        """Start them and wait until each is ready (a spawned process imports Patron first)."""
        for process in self.processes:
            process.start()
        for _ in self.processes:
            assert self.results.get(timeout=120) == -1

    def finish(self) -> int:
        """Stop them; the events they claimed in all."""
        self.stop.set()
        claimed = sum(self.results.get(timeout=120) for _ in self.processes)
        for process in self.processes:
            process.join()
        return claimed


async def _last_id(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.max(OutboxEvent.id))) or 0)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def _lags(database: Database, after: int, ended: datetime) -> tuple[int, int, list[float]]:
    """The events written after id ``after``: how many, how many are still undispatched, and
    each one's lag in ms (occurred to dispatched; an undispatched one's to ``ended``, the
    least it will be)."""
    async with database.read() as session:
        rows = list(
            await session.execute(
                select(OutboxEvent.occurred_at, OutboxEvent.dispatched_at).where(
                    OutboxEvent.id > after
                )
            )
        )
    lags = [
        ((read_time(done) or ended) - (read_time(at) or ended)).total_seconds() * 1000
        for at, done in rows
    ]
    return len(rows), sum(1 for _, done in rows if done is None), lags


async def _with_workers(
    database: Database, count: int, run: Any, seconds: float
) -> tuple[float, float]:
    """Run the accrual load ``run`` with ``count`` dispatcher processes alongside; print what
    they kept up with, then drain what they left."""
    after = await _last_id(database)
    workers = _Workers(database.url, count, 200)
    workers.start()
    result = await run()
    ended = datetime.now(UTC)
    claimed = workers.finish()
    written, left, lags = await _lags(database, after, ended)
    print(
        f"    {count} dispatcher process(es) alongside: {written / seconds:6.0f} events/s "
        f"written, {(written - left) / seconds:6.0f} events/s dispatched ({claimed} claimed), "
        f"{left} left at the end; lag p50 {_percentile(lags, 0.5):.0f} ms, "
        f"p99 {_percentile(lags, 0.99):.0f} ms"
    )
    drained, elapsed = await _drain(database, 120.0)
    if drained:
        print(f"    then drained the {drained} left in {elapsed:.1f} s")
    return result  # type: ignore[no-any-return]


async def bench(kind: str, arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="patron-events-") as folder:
        database = await _database(kind, arguments.url, Path(folder))
        try:
            started = clock.perf_counter()
            await _prepare(database, arguments.members)
            ready = clock.perf_counter() - started
            print(f"{kind}: {arguments.members} members ready in {ready:.1f} s")
            # the members' enrolments (a welcome message each) first, on their own: what
            # follows is the purchases' events
            drained, elapsed = await _drain(database, 600.0)
            print(
                f"{kind}: the members' events drained first: {drained} in {elapsed:.1f} s, "
                f"{drained / elapsed:.0f} events/s"
            )
            rates: dict[bool, list[float]] = {False: [], True: []}
            cpu: dict[bool, list[float]] = {False: [], True: []}
            for round_number in range(arguments.rounds):
                # off-on, then on-off: the database grows as the runs go, alike for both
                for emit in (False, True) if round_number % 2 == 0 else (True, False):
                    purchase_events.EMIT = emit
                    label = f"{'on' if emit else 'off'}{round_number}"

                    def run(emit: bool = emit, label: str = label) -> Any:
                        return _run(
                            database,
                            label,
                            arguments.seconds,
                            arguments.concurrency,
                            arguments.members,
                            _postmaster(arguments.pg_data) if kind == "postgresql" else None,
                        )

                    if emit and arguments.workers:
                        rate, micros = await _with_workers(
                            database, arguments.workers, run, arguments.seconds
                        )
                    else:
                        rate, micros = await run()
                    rates[emit].append(rate)
                    cpu[emit].append(micros)
                    name = "with events   " if emit else "without events"
                    print(
                        f"  {name} round {round_number + 1}: {rate:8.0f} purchases/s, "
                        f"{micros:5.0f} µs CPU a purchase"
                    )
            purchase_events.EMIT = True
            events = await _count_events(database)
            off, on = statistics.median(rates[False]), statistics.median(rates[True])
            cpu_off, cpu_on = statistics.median(cpu[False]), statistics.median(cpu[True])
            print(
                f"{kind}: median without {off:.0f}/s, with {on:.0f}/s, ratio with/without "
                f"{on / off:.3f}; median CPU a purchase {cpu_off:.0f} -> {cpu_on:.0f} µs "
                f"({cpu_on / cpu_off - 1:+.1%}); {events} events in the outbox"
            )
            if arguments.workers:
                return
            dispatched, elapsed = await _drain(database, arguments.dispatch_seconds)
            print(
                f"{kind}: dispatcher drained {dispatched} purchase events in {elapsed:.1f} s: "
                f"{dispatched / elapsed:.0f} events/s"
            )
        finally:
            purchase_events.EMIT = True
            await database.dispose()


async def main(arguments: argparse.Namespace) -> None:
    kinds = ["sqlite", "postgresql"] if arguments.db == "both" else [arguments.db]
    for kind in kinds:
        await bench(kind, arguments)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:54341/postgres")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--dispatch-seconds", type=float, default=8.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="dispatcher processes running alongside the runs with events (0: drain after)",
    )
    parser.add_argument(
        "--pg-data", help="the server's data directory: its CPU counts in the CPU a purchase"
    )
    asyncio.run(main(parser.parse_args()))
