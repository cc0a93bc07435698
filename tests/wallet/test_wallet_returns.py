"""Returns take back a purchase's wallet cashback by the points' rule: cumulatively in
proportion to what was refunded, rounded down, all of it once fully refunded; the wallet never
goes below 0 (``refuse`` refuses such a return, ``debt`` and ``cap_at_available`` take what is
left); what the wallet paid is given back by the same proportion, before the cashback is taken
back. On both databases."""

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


async def test_what_the_wallet_paid_is_given_back_in_proportion(database: Database) -> None:
    _, member = await setup(database)
    await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    paid = await buy(database, "p-2", "100.00", wallet="50.00")
    await pay_cashback(database)  # 5 % of 50.00 paid otherwise: 2.50
    assert await balance(database, member) == 250
    first = await give_back(database, paid.id, "r-1", "33.33")
    # refund floor(5,000 x 3,333 / 10,000) = 1,666; cashback floor(250 x 3,333 / 10,000) = 83
    assert first.wallet_refunded == "16.66"
    assert await balance(database, member) == 250 + 1_666 - 83
    again = await give_back(database, paid.id, "r-1", "33.33")  # a retry: nothing more
    assert again.wallet_refunded == "16.66"
    assert await balance(database, member) == 250 + 1_666 - 83
    rest = await give_back(database, paid.id, "r-2")  # the rest: all of it
    assert rest.wallet_refunded == "33.34"
    assert await balance(database, member) == 5_000
    assert [e for e in await entries(database, member) if e[2] == paid.id] == [
        ("spend", -5_000, paid.id),
        ("credit", 250, paid.id),
        ("refund", 1_666, paid.id),
        ("reverse", -83, paid.id),
        ("refund", 3_334, paid.id),
        ("reverse", -167, paid.id),
    ]
    credited = await events(database, "wallet.credited")
    assert [(e["kind"], e["amount"], e["source"]) for e in credited][-2:] == [
        ("refund", 1_666, "return"),
        ("refund", 3_334, "return"),
    ]
    assert await breaches(database) == []


async def test_the_refund_comes_before_the_cashback_is_taken_under_refuse(
    database: Database,
) -> None:
    _, member = await setup(database, when_spent="refuse")
    await buy(database, "p-1", "1000.00")
    await pay_cashback(database)  # 50.00
    paid = await buy(database, "p-2", "1000.00", wallet="50.00")
    await pay_cashback(database)  # 5 % of 950.00: 47.50
    await buy(database, "p-3", "47.50", wallet="47.50")  # the wallet is empty
    assert await balance(database, member) == 0
    returned = await give_back(database, paid.id, "r-1")
    # 50.00 back first, then 47.50 of cashback taken: the return is not refused
    assert returned.wallet_refunded == "50.00"
    assert await balance(database, member) == 250
    assert await breaches(database) == []


async def test_the_wallet_refund_never_exceeds_the_returns_amount(database: Database) -> None:
    await setup(database)
    await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    paid = await buy(database, "p-2", "40.00", wallet="40.00")
    returned = await give_back(database, paid.id, "r-1", "10.00")
    assert returned.wallet_refunded == "10.00"  # floor(4,000 x 1,000 / 4,000) = 1,000
    assert returned.amount == "10.00"
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
