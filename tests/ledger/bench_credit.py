"""Benchmark of the ledger's hot path: what one credit (a purchase's points) costs.

Not collected by pytest. Run from the repository root:

    PYTHONPATH=src /work/venv/bin/python -m tests.ledger.bench_credit [DATABASE_URL] [COUNT]

The URL defaults to a fresh SQLite file in a temporary directory; a PostgreSQL URL must name an
empty database. It prints wall and CPU (this process: Python + driver) milliseconds per credit,
inside one unit of work (the ledger alone) and with one unit of work per credit (plus BEGIN and
COMMIT, as an API request pays), and the same for debits.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from patron.kit.db import Database
from patron.ledger import service
from patron.ledger.kinds import EntryKind
from patron.migrations import create_all
from tests.ledger.factories import T0, day


async def _measure(label: str, count: int, action: Callable[[int], Awaitable[object]]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    for number in range(count):
        await action(number)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<44} {1000 * wall / count:6.3f} ms wall {1000 * cpu / count:6.3f} ms CPU")


async def main(url: str, count: int) -> None:
    await create_all(url)
    database = Database(url)
    members = 200
    async with database.write() as session:
        for member_id in range(members):
            await service.open_account(session, member_id=member_id, now=T0)
    await _run(database, members, count)
    await database.dispose()


async def _run(database: Database, members: int, count: int) -> None:
    async def credit(session: object, number: int, prefix: str) -> None:
        await service.credit(
            session,  # type: ignore[arg-type]
            member_id=number % members,
            amount=100 + number % 7,
            kind=EntryKind.EARN,
            idempotency_key=f"{prefix}:{number}",
            source_type="purchase",
            source_id=str(number),
            now=T0,
            expires_at=day(365),
            meta={"rule": "base"},
        )

    async def debit(session: object, number: int, prefix: str) -> None:
        await service.debit(
            session,  # type: ignore[arg-type]
            member_id=number % members,
            amount=30,
            kind=EntryKind.REDEEM,
            idempotency_key=f"{prefix}:{number}",
            source_type="reward",
            source_id=str(number),
            now=day(1),
        )

    async with database.write() as session:
        await _measure("credit, one unit of work for all", count, lambda n: credit(session, n, "a"))

    async def credit_alone(number: int) -> None:
        async with database.write() as session:
            await credit(session, number, "b")

    await _measure("credit, one unit of work each", count, credit_alone)
    async with database.write() as session:
        await _measure("debit, one unit of work for all", count, lambda n: debit(session, n, "c"))

    async def debit_alone(number: int) -> None:
        async with database.write() as session:
            await debit(session, number, "d")

    await _measure("debit, one unit of work each", count, debit_alone)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else None
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(target or str(Path(folder) / "bench.db"), total))
