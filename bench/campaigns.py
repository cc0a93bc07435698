"""What purchase campaigns cost a purchase: ``record_purchase`` one unit of work at a time on a
fresh SQLite file, under the seed program and under ``examples/campaigns-program.yaml`` (the
seed program and four campaigns; ``december-bonus`` applies to every purchase here, claiming
its per-member row, its counter row with a global limit and a budget, and writing one
application row).

    python bench/campaigns.py [--purchases 2000] [--rounds 3]

Prints the best round of each (the machine may be shared: the best is the least disturbed).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from patron.kit.db import Database
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.migrations import upgrade_schema
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate

ROOT = Path(__file__).resolve().parents[1]
AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday inside december-bonus's window


def _purchase(n: int) -> PurchaseCreate:
    return PurchaseCreate.model_validate(
        {
            "external_id": f"p{n}",
            "member_external_id": f"m{n}",
            "occurred_at": AT.isoformat(),
            "currency": "RUB",
            "total": "4000.00",
            "lines": [{"sku": "t", "category": "tea", "quantity": 1, "unit_price": "4000.00"}],
        }
    )


async def _round(path: Path, text: str, count: int) -> float:
    url = str(path)
    await upgrade_schema(url)
    database = Database(url)
    async with database.write() as session:
        applied = await program_service.apply_program(session, text=text, created_by="bench")
        for n in range(count):
            await member_service.enrol_member(
                session,
                program_id=applied.program_id,
                data=MemberCreate(external_id=f"m{n}"),
                now=AT - timedelta(days=1),
            )
    purchases = [_purchase(n) for n in range(count)]
    started = time.perf_counter()
    for data in purchases:
        async with database.write() as session:
            active = await program_service.get_active_program(session)
            await record_purchase(session, active=active, data=data, now=AT + timedelta(minutes=1))
    elapsed = time.perf_counter() - started
    await database.dispose()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    programs = {
        "seed": ROOT / "examples" / "seed-program.yaml",
        "campaigns": ROOT / "examples" / "campaigns-program.yaml",
    }
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(arguments.rounds):
            for name, program in programs.items():
                path = Path(folder) / f"{name}-{round_number}.db"
                elapsed = await _round(path, program.read_text(), arguments.purchases)
                best[name] = min(best.get(name, elapsed), elapsed)
    for name, elapsed in best.items():
        per = elapsed / arguments.purchases * 1000
        print(f"{name:10} {arguments.purchases} purchases in {elapsed:.2f} s: {per:.3f} ms each")
    extra = (best["campaigns"] - best["seed"]) / arguments.purchases * 1000
    print(f"campaigns add {extra:.3f} ms per purchase")


if __name__ == "__main__":
    asyncio.run(main())
