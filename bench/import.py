"""Bulk import benchmark: rows/s of ``patron import purchases`` against a bare bulk insert of
the same rows into the same database, in the same run.

    python bench/import.py [--rows 1000000] [--members 100000] [--db sqlite|postgresql]
                           [--url postgresql://postgres@127.0.0.1:54341/postgres] [--profile]

It builds a fresh database (a SQLite file in a temporary directory, or a new database on the
PostgreSQL server of ``--url``; start one with ``.ci/postgres.sh 54341 /tmp/patron-import-pg``),
applies the seed program, enrols ``--members`` members (bulk-inserted fixture rows: members and
their accounts), and writes ``--rows`` synthetic purchase lines (about 3 per purchase, a fifth of
the purchases without a member, a year of history up to now, typed Parquet columns: Decimal
amounts, a UTC Datetime) to a temporary Parquet file. Then it times:

1. ``import_purchases`` (the function ``patron import purchases`` calls) on that file;
2. a bare bulk insert of the same file's rows into a table with the same 12 columns and no
   constraint (read the Parquet, then ``executemany`` in one transaction on SQLite, ``COPY``
   on PostgreSQL);

and prints rows/s for both and their ratio (and the import's CPU time in this process, steadier
than wall time on a shared machine), then checks the ledger (``verify``, not timed).
``--profile`` writes a cProfile of the import to ``/tmp/patron-import.prof``.

``--floor`` (SQLite) then measures what SQLite alone costs for the rows the import wrote: the
``purchases``, ``purchase_lines``, ``ledger_entries`` and ``lots`` rows, read back, are inserted
into a fresh database with the same schema, program and members (one ``executemany`` per table
and batch, no other Python work, foreign keys off, the import's settings: WAL,
``synchronous=NORMAL``, 512 MB cache, one checkpoint at the end), (a) in as many transactions
as the import had batches with every index in place, (b) in one transaction, (c) in one
transaction with the tables' non-unique indexes dropped first and created again before the
commit.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import secrets
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import text
from sqlalchemy.engine import make_url

from patron.kit.db import Database, database_url, null_pool_engine
from patron.ledger.verify import verify
from patron.migrations import create_all
from patron.programs.service import apply_program
from patron.purchases.bulk.service import import_purchases

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "examples" / "seed-program.yaml"
NOW = datetime.now(UTC).replace(microsecond=0)
CATEGORIES = ["coffee", "tea", "cakes", "snacks", "beans", "merch"]
BARE_COLUMNS = [
    "external_id",
    "member_external_id",
    "occurred_at",
    "currency",
    "total",
    "shipping",
    "channel",
    "store",
    "sku",
    "category",
    "quantity",
    "unit_price",
]


def _money(column: str) -> pl.Expr:
    """Minor units as a Decimal(14, 2) column (through its exact text)."""
    minor = pl.col(column)
    text = pl.concat_str(
        (minor // 100).cast(pl.String), pl.lit("."), (minor % 100).cast(pl.String).str.zfill(2)
    )
    return text.cast(pl.Decimal(14, 2)).alias(column)


def generate(rows: int, members: int, seed: int = 7) -> pl.DataFrame:
    """``rows`` purchase lines, 1 to 5 (3 on average) per purchase, in time order."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=rows // 3 + 10)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), rows)) + 1]
    sizes[-1] -= int(sizes.sum()) - rows
    count = len(sizes)
    purchase = np.repeat(np.arange(count), sizes)
    quantity = rng.integers(1, 4, size=rows)
    price = rng.integers(5_000, 300_000, size=rows)  # 50.00 .. 3000.00 RUB
    shipping = np.where(rng.random(count) < 0.3, 29_900, 0)
    goods = np.bincount(purchase, weights=quantity * price, minlength=count).astype(np.int64)
    seconds = np.sort(rng.integers(0, 365 * 86_400, size=count))
    member = rng.integers(0, members, size=count)
    start = (NOW - timedelta(days=365)).replace(tzinfo=None)
    purchases = pl.DataFrame(
        {
            "p": np.arange(count),
            "member": np.where(rng.random(count) < 0.8, member, -1),
            "occurred_at": pl.Series(seconds * 1_000_000).cast(pl.Duration("us")) + start,
            "total": goods + shipping,
            "shipping": shipping,
            "channel": rng.choice(np.array(["web", "store", "app"]), size=count),
            "store": rng.choice(np.array(["msk-1", "msk-2", "spb-1"]), size=count),
        }
    )
    lines = pl.DataFrame(
        {
            "p": purchase,
            "sku": rng.integers(0, 5000, size=rows),
            "category": rng.choice(np.array(CATEGORIES), size=rows),
            "quantity": quantity,
            "unit_price": price,
        }
    )
    joined = lines.join(purchases, on="p", how="left", maintain_order="left")
    return joined.select(
        pl.format("ord-{}", pl.col("p")).alias("external_id"),
        pl.when(pl.col("member") >= 0)
        .then(pl.format("m-{}", pl.col("member")))
        .alias("member_external_id"),
        pl.col("occurred_at").dt.replace_time_zone("UTC"),
        pl.lit("RUB").alias("currency"),
        _money("total"),
        _money("shipping"),
        "channel",
        "store",
        pl.format("sku-{}", pl.col("sku")).alias("sku"),
        "category",
        "quantity",
        _money("unit_price"),
    )


async def _enrol_sqlite(path: str, members: int) -> None:
    connection = sqlite3.connect(path)
    moment = (NOW - timedelta(days=400)).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    with connection:
        connection.executemany(
            "INSERT INTO members (id, program_id, external_id, attributes, status, referral_code, "
            "enrolment_checksum, enrolled_at, updated_at) "
            "VALUES (?, 1, ?, '{}', 'active', ?, '-', ?, ?)",
            ((n + 1, f"m-{n}", secrets.token_hex(6), moment, moment) for n in range(members)),
        )
        connection.executemany(
            "INSERT INTO accounts (member_id, available, pending, lifetime_earned, redeemed, "
            "expired, debt, created_at, updated_at) VALUES (?, 0, 0, 0, 0, 0, 0, ?, ?)",
            ((n + 1, moment, moment) for n in range(members)),
        )
    connection.close()


async def _enrol_postgresql(database: Database, members: int) -> None:
    moment = NOW - timedelta(days=400)
    async with database.write() as session:
        raw = await (await session.connection()).get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(
            "members",
            records=[
                (f"m-{n}", 1, "{}", "active", secrets.token_hex(6), "-", moment, moment)
                for n in range(members)
            ],
            columns=[
                "external_id",
                "program_id",
                "attributes",
                "status",
                "referral_code",
                "enrolment_checksum",
                "enrolled_at",
                "updated_at",
            ],
        )
        await driver.execute(
            "INSERT INTO accounts (member_id, available, pending, lifetime_earned, redeemed, "
            "expired, debt, created_at, updated_at) "
            "SELECT id, 0, 0, 0, 0, 0, 0, $1, $1 FROM members",
            moment,
        )


async def _bare_insert(database: Database, parquet: Path) -> float:
    """Seconds to read the file and insert its rows as they are into a bare table."""
    async with database.write() as session:
        kind = "TEXT"
        columns = ", ".join(f"{name} {kind}" for name in BARE_COLUMNS)
        await session.execute(text(f"CREATE TABLE bare_purchase_rows ({columns})"))
    started = time.perf_counter()
    frame = pl.read_parquet(parquet).with_columns(pl.all().cast(pl.String))
    if database.is_sqlite:
        connection = sqlite3.connect(str(make_url(database.url).database), isolation_level=None)
        connection.execute("PRAGMA synchronous=NORMAL")
        marks = ", ".join("?" * len(BARE_COLUMNS))
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            f"INSERT INTO bare_purchase_rows VALUES ({marks})", frame.iter_rows()
        )
        connection.execute("COMMIT")
        connection.close()
        return time.perf_counter() - started
    async with database.write() as session:
        raw = await (await session.connection()).get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(
            "bare_purchase_rows", records=frame.iter_rows(), columns=BARE_COLUMNS
        )
    return time.perf_counter() - started


FLOOR_TABLES = ("purchases", "purchase_lines", "ledger_entries", "lots")


def _floor_load(path: str, data: dict[str, list[tuple[Any, ...]]], batches: int, drop: bool) -> str:
    """Insert ``data`` into the SQLite file ``path`` (see ``--floor``); a line of timings."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("synchronous=NORMAL", "cache_size=-524288", "wal_autocheckpoint=0"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("PRAGMA foreign_keys=OFF")
    indexes = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN {FLOOR_TABLES}"
    ).fetchall()
    seconds = dict.fromkeys((*FLOOR_TABLES, "indexes", "commits", "checkpoint"), 0.0)
    cpu, started = time.process_time(), time.perf_counter()
    for batch in range(batches):
        connection.execute("BEGIN IMMEDIATE")
        mark = time.perf_counter()
        for name, _ in indexes if drop else ():
            connection.execute(f"DROP INDEX {name}")
        seconds["indexes"] += time.perf_counter() - mark
        for table in FLOOR_TABLES:
            rows = data[table]
            part = rows[len(rows) * batch // batches : len(rows) * (batch + 1) // batches]
            mark = time.perf_counter()
            marks = ", ".join("?" * len(rows[0]))
            connection.executemany(f"INSERT INTO {table} VALUES ({marks})", part)
            seconds[table] += time.perf_counter() - mark
        mark = time.perf_counter()
        for _, sql in indexes if drop else ():
            connection.execute(sql)
        seconds["indexes"] += time.perf_counter() - mark
        mark = time.perf_counter()
        connection.execute("COMMIT")
        seconds["commits"] += time.perf_counter() - mark
    mark = time.perf_counter()
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    seconds["checkpoint"] = time.perf_counter() - mark
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    connection.close()
    parts = ", ".join(f"{name} {value:.2f}" for name, value in seconds.items())
    return f"{wall:.2f} s wall, {cpu:.2f} s CPU ({parts})"


async def _floor(source: str, directory: Path, members: int, batches: int) -> None:
    """``--floor``: the rows the import wrote to ``source``, inserted again (see the docstring)."""
    connection = sqlite3.connect(source)
    data = {
        table: connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        for table in FLOOR_TABLES
    }
    connection.close()
    total = sum(len(rows) for rows in data.values())
    print(f"floor: {total:,} rows ({', '.join(f'{t} {len(r):,}' for t, r in data.items())})")
    for label, count, drop in (
        (f"{batches} transactions, indexes kept", batches, False),
        ("1 transaction, indexes kept", 1, False),
        ("1 transaction, non-unique indexes dropped and rebuilt", 1, True),
    ):
        folder = directory / f"floor-{count}-{int(drop)}"
        folder.mkdir()
        database = await _database("sqlite", None, folder)
        async with database.write() as session:
            await apply_program(session, text=SEED.read_text(), created_by="bench", now=NOW)
        await database.dispose()
        path = str(make_url(database.url).database)
        await _enrol_sqlite(path, members)
        print(f"  {label}: {_floor_load(path, data, count, drop)}")


async def _database(kind: str, url: str | None, directory: Path) -> Database:
    if kind == "sqlite":
        target = database_url(str(directory / "bench.db"))
    else:
        server = url or "postgresql://postgres@127.0.0.1:54341/postgres"
        engine = null_pool_engine(server)
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(
                text('DROP DATABASE IF EXISTS "patron_bench_import" WITH (FORCE)')
            )
            await connection.execute(text('CREATE DATABASE "patron_bench_import"'))
        await engine.dispose()
        target = (
            make_url(database_url(server))
            .set(database="patron_bench_import")
            .render_as_string(False)
        )
    await create_all(target)
    return Database(target)


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="patron-import-") as folder:
        directory = Path(folder)
        database = await _database(arguments.db, arguments.url, directory)
        async with database.write() as session:
            await apply_program(session, text=SEED.read_text(), created_by="bench", now=NOW)
        started = time.perf_counter()
        if database.is_sqlite:
            await _enrol_sqlite(str(make_url(database.url).database), arguments.members)
        else:
            await _enrol_postgresql(database, arguments.members)
        parquet = directory / "purchases.parquet"
        generate(arguments.rows, arguments.members).write_parquet(parquet)
        print(
            f"setup: {arguments.members} members, {arguments.rows} rows in "
            f"{parquet.stat().st_size / 1e6:.1f} MB of Parquet "
            f"({time.perf_counter() - started:.1f} s)"
        )
        profiler = cProfile.Profile() if arguments.profile else None
        if profiler is not None:
            profiler.enable()
        cpu = time.process_time()
        report = await import_purchases(database, path=parquet, now=NOW)
        cpu = time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats("/tmp/patron-import.prof")
        bare = await _bare_insert(database, parquet)
        async with database.read() as session:
            breaches = await verify(session, now=NOW)
        await database.dispose()
        if arguments.floor and database.is_sqlite:
            source = str(make_url(database.url).database)
            await _floor(source, directory, arguments.members, report.batches)
    rows = report.rows
    print(
        f"import: {rows} rows, {report.purchases_loaded} purchases "
        f"({report.purchases_replayed} per event), {report.points_issued} points, "
        f"{report.tier_upgrades} tier upgrades, {report.rows_refused} rows refused"
    )
    print(f"patron import purchases: {report.seconds:.2f} s = {rows / report.seconds:,.0f} rows/s")
    print(f"  CPU time of this process: {cpu:.2f} s (the SQLite work included; not the server's)")
    print(f"bare bulk insert:        {bare:.2f} s = {rows / bare:,.0f} rows/s")
    print(f"rows/s, import / bare:   {bare / report.seconds:.2f}")
    print(f"verify: {len(breaches)} breach(es)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="PostgreSQL server URL (default 127.0.0.1:54341)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--floor", action="store_true", help="SQLite: time the bare inserts")
    asyncio.run(main(parser.parse_args()))
