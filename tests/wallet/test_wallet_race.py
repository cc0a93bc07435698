"""Two purchases that spend from one wallet at the same moment cannot overdraw it: on SQLite
the write transaction serialises them, on PostgreSQL both lock the member's account and then
the wallet row, so the second sees the first's balance. Several rounds, on both databases."""

from __future__ import annotations

import asyncio

from patron.kit.db import Database
from patron.purchases.earn import record_purchase
from patron.wallet.errors import InsufficientWalletError
from tests.wallet.helpers import (
    NOW,
    active,
    balance,
    breaches,
    buy,
    entries,
    pay_cashback,
    purchase_body,
    setup,
)


async def _spend(database: Database, external_id: str, wallet: str) -> str:
    program = await active(database)
    data = purchase_body(external_id, "100.00", wallet=wallet)

    async def work(session):  # type: ignore[no-untyped-def]
        recorded = await record_purchase(session, active=program, data=data, now=NOW)
        return recorded.purchase.wallet_paid

    try:
        return str(await database.write_again_on_deadlock(work))
    except InsufficientWalletError:
        return "refused"


async def test_two_concurrent_spends_cannot_overdraw(database: Database) -> None:
    _, member = await setup(database)
    await buy(database, "seed", "2000.00")
    await pay_cashback(database)
    assert await balance(database, member) == 10_000  # 100.00 RUB
    for round_ in range(3):
        before = await balance(database, member)
        spend = f"{before * 6 // 10 / 100:.2f}"  # 60 % of the balance, twice: only one fits
        results = await asyncio.gather(
            _spend(database, f"r{round_}-a", spend), _spend(database, f"r{round_}-b", spend)
        )
        assert sorted(results) == sorted([spend, "refused"])
        assert await balance(database, member) == before - round(float(spend) * 100)
    spends = [amount for kind, amount, _ in await entries(database, member) if kind == "spend"]
    assert len(spends) == 3
    assert await balance(database, member) == 10_000 + sum(spends) >= 0
    assert await breaches(database) == []
