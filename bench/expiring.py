"""The daily job's ``points.expiring`` step on a demo store: seconds and events per run.

    python bench/expiring.py [--db sqlite|postgresql|both] [--members 10000] [--rounds 3]
                             [--notice-days 14] [--keep]
                             [--url postgresql://postgres@127.0.0.1:54363/postgres]

For each database it builds a demo store with ``patron demo --members N --no-serve`` (two
years of history, the seed program: points expire 12 months after they unlock), a SQLite file
``/tmp/patron-bench-expiring-<members>.db`` or the database ``patron_bench_expiring`` on the
server of ``--url`` (dropped first); ``--keep`` reuses a store built before (its notices are
deleted first). Then, as of the store's last purchase, it times
:func:`patron.ledger.service.announce_expiring` for the default program with ``--notice-days``:

- the first run of a day (reads the lots in the window, writes the notices and the events),
  ``--rounds`` times, each rolled back, and the median;
- the same run committed, then a second run a minute later (reads, finds every date
  announced, writes nothing), and the next day's run (the dates that entered the window).

It prints the lots with points in the window, the events of each run and the seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from patron.kit.db import Database, database_url, null_pool_engine
from patron.kit.raw import read_time
from patron.ledger import service as ledger_service
from patron.ledger.expiring import window
from patron.ledger.models import Lot
from patron.programs.service import get_active_program
from patron.purchases.models import Purchase

PG_NAME = "patron_bench_expiring"


class _RollBackError(Exception):
    pass


async def _pg_store(url: str, keep: bool) -> str:
    target = make_url(database_url(url)).set(database=PG_NAME).render_as_string(False)
    if keep:
        return target
    engine = null_pool_engine(url)
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    await engine.dispose()
    return target


def _build(url: str, members: int) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "patron", "demo", "--db", url, "--members", str(members)]
    command += ["--no-serve", "--reset"] if not url.startswith("postgresql") else ["--no-serve"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


async def _announce(database: Database, now: datetime, days: int, *, keep: bool) -> int:
    async with database.write() as session:
        active = await get_active_program(session)
        count = await ledger_service.announce_expiring(
            session,
            program_id=active.program_id,
            timezone=active.program.program.timezone,
            notice_days=days,
            now=now,
        )
        if not keep:
            raise _RollBackError(count)
    return count


async def _timed(database: Database, now: datetime, days: int, *, keep: bool) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        count = await _announce(database, now, days, keep=keep)
    except _RollBackError as rolled_back:
        count = int(rolled_back.args[0])
    return count, time.perf_counter() - started


async def measure(url: str, *, rounds: int, days: int) -> None:
    database = Database(url)
    try:
        async with database.write() as session:  # a store kept from a run before
            await session.execute(text("DELETE FROM points_expiry_notices"))
        async with database.read() as session:
            last = read_time(await session.scalar(select(func.max(Purchase.occurred_at))))
            assert last is not None
            active = await get_active_program(session)
            _, _, end = window(last, active.program.program.timezone, days)
            in_window = await session.scalar(
                select(func.count()).where(
                    Lot.remaining > 0,
                    Lot.is_active,
                    ~Lot.is_expired,
                    Lot.expires_at > last,
                    Lot.expires_at < end,
                )
            )
            lots = await session.scalar(select(func.count()).select_from(Lot))
        print(f"  as of {last.isoformat()}: {lots} lots, {in_window} with points in the window")
        firsts = [await _timed(database, last, days, keep=False) for _ in range(rounds)]
        for count, seconds in firsts:
            print(f"  first run (rolled back): {count} events in {seconds:.3f} s")
        median = statistics.median(seconds for _, seconds in firsts)
        print(f"  first run, median of {rounds}: {median:.3f} s")
        count, seconds = await _timed(database, last, days, keep=True)
        print(f"  first run, committed: {count} events in {seconds:.3f} s")
        count, seconds = await _timed(database, last + timedelta(minutes=1), days, keep=True)
        print(f"  second run the same day: {count} events in {seconds:.3f} s")
        count, seconds = await _timed(database, last + timedelta(days=1), days, keep=True)
        print(f"  the next day: {count} events in {seconds:.3f} s")
    finally:
        await database.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--notice-days", type=int, default=14)
    parser.add_argument("--keep", action="store_true", help="reuse a store built before")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:54363/postgres")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "sqlite":
            url = database_url(f"/tmp/patron-bench-expiring-{args.members}.db")
            if not args.keep:
                Path(f"/tmp/patron-bench-expiring-{args.members}.db").unlink(missing_ok=True)
        else:
            url = await _pg_store(args.url, args.keep)
        print(f"{kind}: {args.members} members")
        if not args.keep:
            print(f"  demo store built in {_build(url, args.members):.1f} s")
        await measure(url, rounds=args.rounds, days=args.notice_days)


if __name__ == "__main__":
    asyncio.run(main())
