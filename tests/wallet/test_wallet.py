"""The cashback wallet (issue 12, part 5): credited by a campaign's ``credit_wallet`` after a
purchase, spent at checkout as part of a purchase, and checked by ``patron verify``. On both
databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError
from patron.privacy import service as privacy_service
from patron.purchases.earn import record_purchase
from patron.purchases.models import Purchase
from patron.purchases.schemas import fingerprint
from patron.rules.vocabulary.effects import CreditWallet
from patron.wallet.errors import InsufficientWalletError, WalletAmountInvalidError
from patron.wallet.models import Wallet
from patron.wallet.verify import WalletCheck
from tests.wallet.helpers import (
    NOW,
    active,
    balance,
    breaches,
    buy,
    entries,
    events,
    pay_cashback,
    purchase_body,
    setup,
)


def test_percent_cashback_rounds_down_to_the_minor_unit() -> None:
    effect = CreditWallet.model_validate({"percent": "5"})
    assert effect.cashback(100_000, 0) == 5_000
    assert effect.cashback(1_999, 0) == 99  # 99.95 kopecks, rounded down
    assert effect.cashback(0, 0) == 0
    assert effect.cashback(-10, 0) == 0
    assert CreditWallet.model_validate({"percent": "2.5"}).cashback(1_001, 0) == 25
    assert CreditWallet.model_validate({"amount": "50.00"}).cashback(1, 5_000) == 5_000
    with pytest.raises(ValueError, match="exactly one of amount, percent"):
        CreditWallet.model_validate({"amount": "1", "percent": "1"})
    with pytest.raises(ValueError, match="exactly one of amount, percent"):
        CreditWallet.model_validate({})
    with pytest.raises(ValueError, match="less than or equal to 100"):
        CreditWallet.model_validate({"percent": "101"})


async def test_cashback_is_credited_once_and_announced(database: Database) -> None:
    _, member = await setup(database)
    purchase = await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    assert await balance(database, member) == 5_000  # 5 % of 1,000.00 RUB: 50.00
    assert await entries(database, member) == [("credit", 5_000, purchase.id)]
    await pay_cashback(database)  # nothing due: nothing more
    credited = await events(database, "wallet.credited")
    assert [(e["member_id"], e["amount"], e["balance"], e["kind"]) for e in credited] == [
        (member, 5_000, 5_000, "credit")
    ]
    assert credited[0]["purchase_id"] == purchase.id
    assert credited[0]["currency"] == "RUB"
    assert credited[0]["source"] == "campaign"
    assert await breaches(database) == []


async def test_a_purchase_pays_from_the_wallet(database: Database) -> None:
    _, member = await setup(database)
    await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    paid = await buy(database, "p-2", "300.00", wallet="30.00")
    assert paid.wallet_paid == "30.00"
    assert await balance(database, member) == 2_000
    # cashback on what was paid otherwise: 5 % of 270.00
    await pay_cashback(database)
    assert await entries(database, member) == [
        ("credit", 5_000, paid.id - 1),
        ("spend", -3_000, paid.id),
        ("credit", 1_350, paid.id),
    ]
    debited = await events(database, "wallet.debited")
    assert [(e["amount"], e["balance"], e["kind"], e["purchase_id"]) for e in debited] == [
        (3_000, 2_000, "spend", paid.id)
    ]
    assert await breaches(database) == []


async def test_a_retry_spends_nothing_again(database: Database) -> None:
    _, member = await setup(database)
    await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    first = await buy(database, "p-2", "300.00", wallet="30.00")
    again = await buy(database, "p-2", "300.00", wallet="30.00")
    assert again == first
    assert await balance(database, member) == 2_000
    with pytest.raises(IdempotencyConflictError):
        await buy(database, "p-2", "300.00", wallet="40.00")
    assert await balance(database, member) == 2_000
    assert len(await events(database, "wallet.debited")) == 1


async def test_more_than_the_balance_is_refused_and_changes_nothing(database: Database) -> None:
    _, member = await setup(database)
    await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    with pytest.raises(InsufficientWalletError) as refused:
        await buy(database, "p-2", "300.00", wallet="50.01")
    assert refused.value.status == 422
    assert refused.value.code == "wallet_insufficient"
    assert refused.value.field == "wallet_amount"
    async with database.read() as session:
        assert (
            await session.scalar(select(Purchase.id).where(Purchase.external_id == "p-2")) is None
        )
    assert await balance(database, member) == 5_000
    # the whole balance is fine
    paid = await buy(database, "p-3", "300.00", wallet="50.00")
    assert paid.wallet_paid == "50.00"
    assert await balance(database, member) == 0
    assert await breaches(database) == []


async def test_a_wallet_amount_needs_a_member_and_at_most_the_total(database: Database) -> None:
    await setup(database)
    with pytest.raises(WalletAmountInvalidError) as above:
        await buy(database, "p-1", "10.00", wallet="10.01")
    assert (above.value.code, above.value.field) == ("wallet_amount_invalid", "wallet_amount")
    program = await active(database)
    anonymous = purchase_body("anon", "10.00", member=None, wallet="1.00")
    with pytest.raises(WalletAmountInvalidError) as anon:
        async with database.write() as session:
            await record_purchase(session, active=program, data=anonymous, now=NOW)
    assert anon.value.field == "wallet_amount"
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Purchase)) == 0


def test_a_purchase_without_wallet_amount_keeps_its_fingerprint() -> None:
    plain = purchase_body("p-1", "10.00")
    body = plain.model_dump(mode="json")
    assert body.pop("wallet_amount") is None
    for line in body["lines"]:
        assert line.pop("discount") is None
    assert plain.fingerprint() == fingerprint(body)
    with_wallet = purchase_body("p-1", "10.00", wallet="1.00")
    assert with_wallet.fingerprint() != plain.fingerprint()


async def test_verify_finds_a_tampered_wallet(database: Database) -> None:
    _, member = await setup(database)
    purchase = await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    async with database.write() as session:
        await session.execute(update(Wallet).values(balance=Wallet.balance + 1))
        await session.execute(
            update(Purchase).where(Purchase.id == purchase.id).values(wallet_paid=7)
        )
    found = {(b.check, b.member_id) for b in await breaches(database)}
    assert found == {(WalletCheck.BALANCE, member), (WalletCheck.PAID, member)}


async def test_the_members_export_holds_the_wallet(database: Database) -> None:
    _, member = await setup(database)
    await buy(database, "p-1", "1000.00")
    await pay_cashback(database)
    async with database.read() as session:
        exported = await privacy_service.export_member(session, member_id=member, now=NOW)
    assert [(w["member_id"], w["balance"]) for w in exported.wallets] == [(member, 5_000)]
    assert [(e["kind"], e["amount"]) for e in exported.wallet_entries] == [("credit", 5_000)]
