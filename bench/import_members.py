"""Members import benchmark: members/s of ``patron import members`` from a CSV into SQLite,
against a bare bulk insert of the same rows into the same database, in the same run.

    python bench/import_members.py [--members 1000000] [--profile] [--check-processes N]

It builds a fresh SQLite file in a temporary directory, applies the seed program and writes
``--members`` synthetic customers to a CSV: every column of docs/import.md (names, e-mail
addresses, Polish phone numbers without the country code, birth dates, languages, enrolment
dates, an e-mail consent for every row and an SMS consent given on a date for a third, a free
``city`` attribute; an opening balance for 30 % of the rows, a third of them with their own
expiry; a carried-over tier for 10 %, half of them with ``tier_until``). Then it times:

1. ``read_members`` + ``import_members`` (what ``patron import members`` runs), phone region
   ``PL``, ``--attributes city``;
2. a bare bulk insert of the same CSV's rows into a table with the same columns and no
   constraint (read the CSV, then ``executemany`` in one transaction);

and prints members/s for both and their ratio, then checks the ledger (``verify``, not timed).
``--profile`` writes a cProfile of the import to ``/tmp/patron-import-members.prof``;
``--check-processes 1`` checks every row in this process (the default: one process a core, at
most 4, for 20,000 rows or more; patron.onboarding.checking).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import text
from sqlalchemy.engine import make_url

from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.migrations import upgrade_schema
from patron.onboarding.service import import_members, read_members
from patron.programs import service as program_service

REPO = Path(__file__).resolve().parents[1]
SEED_PROGRAM = REPO / "examples" / "seed-program.yaml"
NOW = datetime.now(UTC)
CITIES = ["Warsaw", "Kraków", "Moscow", "Gdańsk", "Kazan"]


def generate(count: int, seed: int = 11) -> pl.DataFrame:
    """``count`` customers with every column of the members import, as text."""
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "i": np.arange(1, count + 1),
            "phone_number": 601_000_000 + rng.integers(0, 999_999, count),
            "year": rng.integers(2012, 2026, count),
            "has_opening": rng.random(count) < 0.3,
            "has_tier": rng.random(count) < 0.1,
            "tier_name": np.array(["bronze", "silver", "gold"])[rng.integers(0, 3, count)],
            "language": np.array(["ru", "pl", "en"])[np.arange(count) % 3],
            "city": np.array(CITIES)[np.arange(count) % len(CITIES)],
        }
    )
    i, opening, tier = pl.col("i"), pl.col("has_opening"), pl.col("has_tier")

    def when(condition: pl.Expr, value: pl.Expr) -> pl.Expr:
        return pl.when(condition).then(value).otherwise(pl.lit(None, dtype=pl.String))

    return frame.select(
        external_id=pl.format("cust-{}", i),
        name=pl.format("Customer {}", i),
        email=pl.format("customer{}@example.com", i),
        phone=pl.col("phone_number").cast(pl.String),
        birth_date=pl.format("19{}-0{}-1{}", 50 + i % 50, 1 + i % 9, i % 10),
        language=pl.col("language"),
        enrolled_at=pl.format("{}-03-01", pl.col("year")),
        consent_email=pl.when(i % 2 == 1).then(pl.lit("true")).otherwise(pl.lit("false")),
        consent_sms=when(i % 3 == 0, pl.lit("2024-05-01")),
        opening_points=when(opening, (i % 5000 + 1).cast(pl.String)),
        opening_points_expire_at=when(opening & (i % 3 == 0), pl.lit("2030-12-31")),
        tier=when(tier, pl.col("tier_name")),
        tier_until=when(tier & (i % 2 == 0), pl.lit("2030-06-30")),
        city=pl.col("city"),
    )


async def _prepare(database: Database) -> None:
    await upgrade_schema(database.url)
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), key="default", created_by="bench", now=NOW
        )


async def _bare_insert(database: Database, path: Path) -> float:
    """Seconds to read the CSV and insert its rows as they are into a bare table (its own
    ``sqlite3`` connection, one transaction, the import's ``synchronous=NORMAL``)."""
    frame = pl.read_csv(path, infer_schema=False)
    async with database.write() as session:
        columns = ", ".join(f"{name} TEXT" for name in frame.columns)
        await session.execute(text(f"CREATE TABLE bare_member_rows ({columns})"))
    started = time.perf_counter()
    frame = pl.read_csv(path, infer_schema=False)
    connection = sqlite3.connect(str(make_url(database.url).database), isolation_level=None)
    connection.execute("PRAGMA synchronous=NORMAL")
    marks = ", ".join("?" for _ in frame.columns)
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(f"INSERT INTO bare_member_rows VALUES ({marks})", frame.iter_rows())
    connection.execute("COMMIT")
    connection.close()
    return time.perf_counter() - started


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        database = Database(str(folder / "members.db"))
        await _prepare(database)
        csv = folder / "members.csv"
        generate(arguments.members).write_csv(csv)
        print(f"{arguments.members:,} members, CSV {csv.stat().st_size / 1e6:.0f} MB")
        profiler = cProfile.Profile() if arguments.profile else None
        started, cpu = time.perf_counter(), time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        if profiler is not None:
            profiler.enable()
        frame = read_members(csv, attributes=["city"])
        report = await import_members(
            database,
            frame,
            attributes=["city"],
            phone_region="PL",
            now=NOW,
            check_processes=arguments.check_processes,
        )
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats("/tmp/patron-import-members.prof")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        helpers = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
        assert report.new == arguments.members, (report.new, report.errors[:3])
        bare = await _bare_insert(database, csv)
        async with database.read() as session:
            breaches = await ledger_service.verify(session, now=NOW)
        await database.dispose()
    count = arguments.members
    print(f"import_members:          {seconds:.2f} s = {count / seconds:,.0f} members/s")
    print(f"  CPU in this process:   {cpu:.2f} s")
    print(f"  CPU of row checkers:   {helpers:.2f} s (other processes)")
    print(f"bare bulk insert:        {bare:.2f} s = {count / bare:,.0f} rows/s")
    print(f"members/s, import / bare: {bare / seconds:.2f}")
    print(f"opening points:          {report.opening_points:,}")
    print(f"verify:                  {'clean' if not breaches else breaches[:3]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--check-processes",
        type=int,
        default=None,
        help="processes that check the rows (default: the cores, at most 4; 1: this one only)",
    )
    asyncio.run(main(parser.parse_args()))
