"""Cashback that falls due while its member is blocked is held, never credited while the block
lasts, and credited once when the block is lifted, less what was returned meanwhile
(docs/campaigns.md, "The cashback wallet"). On both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from patron.campaigns.deferred import HANDLERS as DEFERRED_HANDLERS
from patron.campaigns.wallet_holds import HANDLERS as HOLD_HANDLERS
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.members import blocking
from patron.wallet.models import WalletHold
from patron.worker.registry import handlers
from tests.wallet.helpers import (
    NOW,
    balance,
    breaches,
    buy,
    entries,
    events,
    give_back,
    pay_cashback,
    setup,
)


async def _block(database: Database, member_id: int, *, block: bool) -> None:
    async with database.write() as session:
        if block:
            await blocking.block_member(
                session, member_id=member_id, reason="checking a chargeback", now=NOW
            )
        else:
            await blocking.unblock_member(session, member_id=member_id, now=NOW)


async def _run_handlers(database: Database) -> None:
    report = await dispatch_pending(
        database, [*DEFERRED_HANDLERS, *HOLD_HANDLERS], now=NOW + timedelta(seconds=2)
    )
    assert report.failed == 0


async def _holds(database: Database) -> list[tuple[int, str, bool]]:
    """``(purchase id, key, released)`` of every hold."""
    async with database.read() as session:
        rows = await session.execute(
            select(
                WalletHold.purchase_id, WalletHold.idempotency_key, WalletHold.released_at
            ).order_by(WalletHold.id)
        )
        return [(p, k, r is not None) for p, k, r in rows]


def test_the_worker_runs_the_release() -> None:
    assert "campaigns.release_held_cashback" in {handler.name for handler in handlers()}


async def test_cashback_due_while_blocked_is_held_and_credited_once_unblocked(
    database: Database,
) -> None:
    _, member = await setup(database)
    purchase = await buy(database, "p-1", "1000.00")  # 50.00 of cashback falls due
    await _block(database, member, block=True)
    await pay_cashback(database)
    await pay_cashback(database)  # a run again holds nothing more
    key = f"deferred:{purchase.id}:campaign:cashback:0"
    assert await _holds(database) == [(purchase.id, key, False)]
    assert await balance(database, member) == 0
    assert await entries(database, member) == []
    assert await events(database, "wallet.credited") == []
    # returned in part while blocked: nothing to take back yet, the hold stays
    await give_back(database, purchase.id, "r-1", "400.00")
    assert await entries(database, member) == []

    await _block(database, member, block=False)
    assert [e["member_id"] for e in await events(database, "members.unblocked")] == [member]
    await _run_handlers(database)
    # credited under the purchase's own key, then 40 % of it taken back: 5,000 - 2,000
    assert await entries(database, member) == [
        ("credit", 5_000, purchase.id),
        ("reverse", -2_000, purchase.id),
    ]
    assert await balance(database, member) == 3_000
    assert await _holds(database) == [(purchase.id, key, True)]
    # again (the handlers, another unblock): nothing more
    await _run_handlers(database)
    await _block(database, member, block=False)  # not blocked: no event, nothing
    await _run_handlers(database)
    assert await balance(database, member) == 3_000
    assert len(await events(database, "wallet.credited")) == 1
    assert len(await events(database, "members.unblocked")) == 1
    assert await breaches(database) == []


async def test_blocked_again_before_the_release_keeps_it_held(database: Database) -> None:
    _, member = await setup(database)
    purchase = await buy(database, "p-1", "1000.00")
    await _block(database, member, block=True)
    await pay_cashback(database)
    await _block(database, member, block=False)
    await _block(database, member, block=True)  # the release finds the member blocked
    await _run_handlers(database)
    assert await balance(database, member) == 0
    assert [released for _, _, released in await _holds(database)] == [False]
    await _block(database, member, block=False)
    await _run_handlers(database)
    assert await entries(database, member) == [("credit", 5_000, purchase.id)]
    assert [released for _, _, released in await _holds(database)] == [True]
    assert await breaches(database) == []


async def test_cashback_credited_before_the_block_stays(database: Database) -> None:
    _, member = await setup(database)
    purchase = await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    await _block(database, member, block=True)
    await pay_cashback(database)
    assert await entries(database, member) == [("credit", 5_000, purchase.id)]
    assert await _holds(database) == []
