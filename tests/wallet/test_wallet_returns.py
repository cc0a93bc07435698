"""Returns take back a purchase's wallet cashback by the points' rule: cumulatively in
proportion to what was refunded, rounded down, all of it once fully refunded; the wallet never
goes below 0 (``refuse`` refuses such a return, ``debt`` and ``cap_at_available`` take what is
left); what the wallet paid is not given back. On both databases."""

from __future__ import annotations

import pytest

from patron.kit.db import Database
from patron.wallet.errors import WalletAlreadySpentError
from tests.wallet.helpers import (
    balance,
    breaches,
    buy,
    entries,
    events,
    give_back,
    pay_cashback,
    setup,
)


async def test_partial_returns_take_back_cashback_in_proportion(database: Database) -> None:
    _, member = await setup(database)
    purchase = await buy(database, "p-1", "999.99")
    await pay_cashback(database)
    assert await balance(database, member) == 4_999  # floor(99,999 x 5 / 100)
    await give_back(database, purchase.id, "r-1", "333.33")
    # floor(4,999 x 33,333 / 99,999) = 1,666
    assert await balance(database, member) == 4_999 - 1_666
    await give_back(database, purchase.id, "r-1", "333.33")  # a retry takes nothing more
    assert await balance(database, member) == 4_999 - 1_666
    await give_back(database, purchase.id, "r-2")  # the rest: everything left
    assert await balance(database, member) == 0
    assert await entries(database, member) == [
        ("credit", 4_999, purchase.id),
        ("reverse", -1_666, purchase.id),
        ("reverse", -3_333, purchase.id),
    ]
    debited = await events(database, "wallet.debited")
    assert [(e["kind"], e["amount"], e["source"]) for e in debited] == [
        ("reverse", 1_666, "return"),
        ("reverse", 3_333, "return"),
    ]
    assert await breaches(database) == []


async def test_spent_cashback_is_capped_under_debt(database: Database) -> None:
    _, member = await setup(database)
    first = await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    await buy(database, "p-2", "40.00", wallet="40.00")  # spends 40.00 of the 50.00
    await pay_cashback(database)  # nothing: p-2 was all paid from the wallet
    assert await balance(database, member) == 1_000
    await give_back(database, first.id, "r-1")
    assert await balance(database, member) == 0  # 50.00 due, 10.00 left: taken, never below 0
    assert await breaches(database) == []


async def test_spent_cashback_refuses_the_return_under_refuse(database: Database) -> None:
    _, member = await setup(database, when_spent="refuse")
    first = await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    await buy(database, "p-2", "40.00", wallet="40.00")
    with pytest.raises(WalletAlreadySpentError) as refused:
        await give_back(database, first.id, "r-1")
    assert refused.value.status == 409
    assert refused.value.code == "wallet_already_spent"
    assert await balance(database, member) == 1_000
    assert len(await events(database, "purchases.returned")) == 0
    await give_back(database, first.id, "r-2", "100.00")  # 5.00 due, 10.00 left: fine
    assert await balance(database, member) == 500


async def test_what_the_wallet_paid_is_not_given_back(database: Database) -> None:
    _, member = await setup(database)
    await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    paid = await buy(database, "p-2", "100.00", wallet="50.00")
    await pay_cashback(database)  # 5 % of 50.00 paid otherwise: 2.50
    assert await balance(database, member) == 250
    await give_back(database, paid.id, "r-1")
    assert await balance(database, member) == 0  # its cashback back, its wallet part not
    assert await breaches(database) == []


async def test_a_return_before_the_cashback_is_paid(database: Database) -> None:
    _, member = await setup(database)
    purchase = await buy(database, "p-1", "1000.00")
    await give_back(database, purchase.id, "r-1", "250.00")  # the handler has not run yet
    await pay_cashback(database)
    assert await entries(database, member) == [
        ("credit", 5_000, purchase.id),
        ("reverse", -1_250, purchase.id),
    ]
    await give_back(database, purchase.id, "r-2")
    assert await balance(database, member) == 0
    assert await breaches(database) == []
