"""A ``cashback`` reward of the catalogue credits the member's wallet with its value when its
coupon is used (``POST /coupons/{code}/consume``): once, keyed by the coupon. On both
databases."""

from __future__ import annotations

from patron.kit.db import Database
from patron.rewards.coupons import consume_coupon
from patron.rewards.redeem import redeem
from tests.wallet.helpers import NOW, active, balance, breaches, entries, events, setup


async def test_a_cashback_coupon_credits_the_wallet_once(database: Database) -> None:
    _, member = await setup(database)
    program = await active(database)
    async with database.write() as session:
        redeemed = await redeem(
            session,
            active=program,
            member_id=member,
            reward_code="CASH100",
            idempotency_key="cash-1",
            now=NOW,
        )
    code = redeemed.coupon.code
    assert await balance(database, member) == 0  # not yet: the coupon is unused
    for _ in range(2):  # a retry with the same ref credits nothing more
        async with database.write() as session:
            await consume_coupon(session, code=code, now=NOW, ref="order-1", member_id=member)
    assert await balance(database, member) == 10_000
    assert await entries(database, member) == [("credit", 10_000, None)]
    credited = await events(database, "wallet.credited")
    assert [(e["amount"], e["source"]) for e in credited] == [(10_000, "coupon")]
    assert await breaches(database) == []


async def test_other_coupons_leave_the_wallet_alone(database: Database) -> None:
    _, member = await setup(database)
    program = await active(database)
    async with database.write() as session:
        redeemed = await redeem(
            session, active=program, member_id=member, reward_code="SHIP0", now=NOW
        )
    async with database.write() as session:
        await consume_coupon(session, code=redeemed.coupon.code, now=NOW, ref="o", member_id=member)
    assert await entries(database, member) == []
