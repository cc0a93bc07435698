"""KPI benchmark: ``patron analytics kpis`` on a database of ``--purchases`` purchases, against a
bare ``SELECT count(*), sum(total) FROM purchases`` on the same database in the same run.

    python bench/kpis.py [--purchases 10000000] [--members 1000000] [--path /tmp/kpis.db]
                         [--keep]

It builds a SQLite file (schema from the models, the seed program applied through the program
service), then bulk-loads synthetic rows with ``executemany`` (indexes dropped during the load
and rebuilt after, so the database has every index Patron's schema gives it): members (a
quarter each bronze, silver, gold, none) and their accounts with plausible counters,
``--purchases`` purchases over three years up to now (15 % without a member), 1 % of them
partly returned (``purchase_returns`` and ``purchases.refunded``). Each purchase row is as wide
as the per-event path writes it (the scan's cost follows the table's size, not only its row
count): the seed program's five-rule breakdown in its stored form (about 400 bytes), a
64-character request hash, channel and store, and for member purchases the pending and
expiry times (before 2026-11-23 the rows carried an empty breakdown and a one-character hash:
a table of 1.1 GB instead of about 6). Ledger entries are not generated: the default
invocation (the whole history) reads the accounts' counters, and that is the path timed here.
Then it times, in a fresh process each,

1. ``patron analytics kpis --db FILE --by tier --json`` (process start to exit, so Python's
   start-up and the imports are included);
2. the bare ``SELECT count(*), sum(total)`` through :mod:`sqlite3` (a full scan of the table);

and prints both (wall clock, and CPU time: user + system of the child process, which
depends less on what else runs on the machine) and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from patron.kit.db import Database
from patron.migrations import upgrade_schema
from patron.programs.service import apply_program
from patron.purchases.breakdown import pack

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "examples" / "seed-program.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)
CHUNK = 1_000_000
YEARS = 3


def _breakdown(points: int, coffee: bool) -> str:
    """A purchase's breakdown under the seed program, stored as the per-event path stores it."""
    rows = [
        ("base", "Base rate", True, None, "base", "100 per 1000.00 RUB", points),
        (
            "coffee-double",
            "Double points on coffee",
            coffee,
            None if coffee else "conditions not met: line_category_in",
            "multiply_lines",
            "2",
            points if coffee else 0,
        ),
        (
            "big-basket",
            "Big basket bonus",
            False,
            "conditions not met: order_total_gte",
            "bonus_points",
            "500",
            0,
        ),
        (
            "weekend-boost",
            "Weekend boost",
            False,
            "conditions not met: between",
            "multiply_order",
            "1.5",
            0,
        ),
        ("tier", "No tier", False, "no tier", "tier", "1", 0),
    ]
    fields = ("rule_id", "name", "applied", "reason", "effect", "value", "points")
    packed = pack([dict(zip(fields, row, strict=True)) for row in rows])
    return json.dumps(packed, separators=(",", ":"), ensure_ascii=False)


def _text(moments: np.ndarray) -> list[str]:
    """SQLite's stored form of UTC datetimes (what UTCDateTime writes)."""
    return [
        f"{value.replace('T', ' ')}.000000" for value in moments.astype("datetime64[s]").astype(str)
    ]


async def _schema(path: Path) -> None:
    database = Database(str(path))
    await upgrade_schema(database.url)
    async with database.write() as session:
        await apply_program(session, text=SEED.read_text(), created_by="bench", now=NOW)
    await database.dispose()


def _drop_indexes(connection: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    marks = ",".join("?" for _ in tables)
    rows = connection.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        tables,
    ).fetchall()
    for name, _sql in rows:
        connection.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def _members(connection: sqlite3.Connection, rng: np.random.Generator, members: int) -> None:
    start = np.datetime64(NOW.replace(tzinfo=None)) - np.timedelta64(YEARS * 365 + 30, "D")
    enrolled = _text(start + rng.integers(0, 30 * 86400, members).astype("timedelta64[s]"))
    tiers = np.array(["bronze", "silver", "gold", None], dtype=object)[rng.integers(0, 4, members)]
    connection.executemany(
        "INSERT INTO members (id, program_id, external_id, attributes, status, referral_code, "
        "tier_id, enrolment_checksum, enrolled_at, updated_at) "
        "VALUES (?, 1, ?, '{}', 'active', ?, ?, '-', ?, ?)",
        (
            (n + 1, f"m-{n}", f"r{n:010d}", tiers[n], enrolled[n], enrolled[n])
            for n in range(members)
        ),
    )
    earned = rng.integers(0, 20_000, members)
    redeemed = (earned * rng.uniform(0, 0.5, members)).astype(np.int64)
    expired = (earned * rng.uniform(0, 0.2, members)).astype(np.int64)
    available = earned - redeemed - expired
    connection.executemany(
        "INSERT INTO accounts (member_id, available, pending, lifetime_earned, redeemed, "
        "expired, debt, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, 0, ?, ?)",
        (
            (
                n + 1,
                int(available[n]),
                int(earned[n]),
                int(redeemed[n]),
                int(expired[n]),
                enrolled[n],
                enrolled[n],
            )
            for n in range(members)
        ),
    )


def _purchases(
    connection: sqlite3.Connection, rng: np.random.Generator, count: int, members: int
) -> None:
    span = YEARS * 365 * 86400
    seconds = np.sort(rng.integers(0, span, count))
    start = np.datetime64(NOW.replace(tzinfo=None)) - np.timedelta64(span, "s")
    for first in range(0, count, CHUNK):
        size = min(CHUNK, count - first)
        ids = np.arange(first + 1, first + size + 1)
        moments = _text(start + seconds[first : first + size].astype("timedelta64[s]"))
        member = rng.integers(1, members + 1, size).astype(object)
        member[rng.random(size) < 0.15] = None
        total = rng.gamma(2.0, 75_000, size).astype(np.int64) + 100
        returned = rng.random(size) < 0.01
        refund = np.where(returned, total // 3, 0)
        coffee = rng.random(size) < 0.3
        offline = rng.random(size) < 0.5
        later = _text(start + (seconds[first : first + size] + 14 * 86400).astype("timedelta64[s]"))
        expiry = _text(
            start + (seconds[first : first + size] + 379 * 86400).astype("timedelta64[s]")
        )
        hashes = rng.integers(0, 2**63, (size, 4)).astype(np.uint64)
        connection.executemany(
            "INSERT INTO purchases (id, program_id, external_id, member_id, occurred_at, currency, "
            "total, shipping, channel, store, program_version, points_earned, points_reversed, "
            "refunded, pending_until, expires_at, breakdown, request_hash, "
            "created_at) "
            "VALUES (?, 1, ?, ?, ?, 'RUB', ?, 0, ?, ?, 1, ?, 0, ?, ?, ?, ?, ?, ?)",
            (
                (
                    int(ids[i]),
                    f"o-{ids[i]:09d}",
                    member[i],
                    moments[i],
                    int(total[i]),
                    "store" if offline[i] else "online",
                    "msk-patriki" if offline[i] else None,
                    points,
                    int(refund[i]),
                    None if member[i] is None else later[i],
                    None if member[i] is None else expiry[i],
                    _breakdown(points, bool(coffee[i])),
                    "".join(f"{int(word):016x}" for word in hashes[i]),
                    moments[i],
                )
                for i in range(size)
                for points in ((int(total[i]) // 1000) * (2 if coffee[i] else 1),)
            ),
        )
        rows = np.flatnonzero(returned)
        connection.executemany(
            "INSERT INTO purchase_returns (purchase_id, member_id, external_id, amount, "
            "points_reversed, lines, reason, occurred_at, request_hash, created_at) "
            "VALUES (?, ?, 'r', ?, 0, '[]', '', ?, '-', ?)",
            (
                (int(ids[i]), member[i], int(refund[i]), moments[i], moments[i])
                for i in rows
                if refund[i] > 0
            ),
        )


def build(path: Path, purchases: int, members: int) -> float:
    started = time.perf_counter()
    path.unlink(missing_ok=True)
    asyncio.run(_schema(path))
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    tables = ("members", "accounts", "purchases", "purchase_returns")
    indexes = _drop_indexes(connection, tables)
    rng = np.random.default_rng(11)
    connection.execute("BEGIN")
    _members(connection, rng, members)
    _purchases(connection, rng, purchases, members)
    connection.execute("COMMIT")
    for sql in indexes:
        connection.execute(sql)
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


def timed(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of a command, in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/patron-kpis-bench.db"))
    parser.add_argument("--keep", action="store_true", help="Reuse the database if it exists.")
    arguments = parser.parse_args()
    if not (arguments.keep and arguments.path.exists()):
        seconds = build(arguments.path, arguments.purchases, arguments.members)
        built = f"{arguments.purchases:,} purchases, {arguments.members:,} members"
        print(f"built {built} in {seconds:.0f} s")
    path = str(arguments.path)
    kpis = [sys.executable, "-m", "patron", "analytics", "kpis", "--db", path, "--by", "tier"]
    query = "SELECT count(*), sum(total) FROM purchases"
    script = f"import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute({query!r}).fetchall()"
    bare = [sys.executable, "-c", script, path]
    load = os.getloadavg()[0]
    kpi_wall, kpi_cpu = timed([*kpis, "--json"])
    bare_wall, bare_cpu = timed(bare)
    print(f"load average before: {load:.2f} (2 cores)")
    print(f"patron analytics kpis --by tier --json: {kpi_wall:.2f} s wall, {kpi_cpu:.2f} s CPU")
    print(f"bare {query}: {bare_wall:.2f} s wall, {bare_cpu:.2f} s CPU")
    print(f"ratio: {kpi_wall / bare_wall:.1f}x wall, {kpi_cpu / bare_cpu:.1f}x CPU")


if __name__ == "__main__":
    main()
