"""``GET /members/{id}/wallet`` and a purchase's ``wallet_amount`` through the API (issue 12,
part 5): the balance and entries paged like the ledger, a till reading only the member it
identified, and a spend above the balance refused with 422 ``wallet_insufficient`` naming
``wallet_amount``. On both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from patron.campaigns.deferred import HANDLERS as DEFERRED_HANDLERS
from patron.kit.dispatch import dispatch_pending
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.purchases.models import Purchase
from tests.api.conftest import Api
from tests.api.paging import assert_each_once
from tests.conftest import SEED_PROGRAM
from tests.wallet.helpers import program_text

CARD = {"X-Patron-Member-External-Id": "w-1"}


def _purchase(external_id: str, total: str, wallet: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "member_external_id": "w-1",
        "occurred_at": (utcnow() - timedelta(minutes=5)).isoformat(),
        "currency": "RUB",
        "total": total,
        "lines": [{"sku": "S1", "quantity": 1, "unit_price": total}],
    }
    if wallet is not None:
        body["wallet_amount"] = wallet
    return body


async def _member_with_cashback(api: Api) -> int:
    async with api.database.write() as session:
        await program_service.apply_program(session, text=program_text(), created_by="test")
    enrolled = await api.call("POST", "/members", json={"external_id": "w-1"})
    assert enrolled.status_code == 201, enrolled.text
    member_id: int = enrolled.json()["id"]
    for n in range(3):
        bought = await api.call("POST", "/purchases", json=_purchase(f"w-p{n}", "1000.00"))
        assert bought.status_code == 201, bought.text
    report = await dispatch_pending(api.database, DEFERRED_HANDLERS)
    assert report.failed == 0
    return member_id


async def test_the_wallet_shows_its_balance_and_entries_paged(api: Api) -> None:
    member_id = await _member_with_cashback(api)
    page = await api.call("GET", f"/members/{member_id}/wallet", "staff", params={"limit": 2})
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["member_id"], body["currency"], body["balance"]) == (member_id, "RUB", "150.00")
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in body["items"]] == [
        ("credit", "50.00", "150.00"),
        ("credit", "50.00", "100.00"),
    ]
    assert body["next_cursor"] is not None
    rest = await api.call(
        "GET",
        f"/members/{member_id}/wallet",
        "staff",
        params={"limit": 2, "cursor": body["next_cursor"]},
    )
    assert [e["balance_after"] for e in rest.json()["items"]] == ["50.00"]
    assert rest.json()["next_cursor"] is None

    async def get(params: dict[str, Any]) -> httpx.Response:
        return await api.call("GET", f"/members/{member_id}/wallet", "staff", params=params)

    assert len(await assert_each_once(get)) == 3


async def test_a_till_reads_only_the_member_it_identified(api: Api) -> None:
    member_id = await _member_with_cashback(api)
    blind = await api.call("GET", f"/members/{member_id}/wallet", "pos")
    assert blind.status_code == 403
    assert blind.json()["error"]["code"] == "member_not_identified"
    seen = await api.call("GET", f"/members/{member_id}/wallet", "pos", headers=CARD)
    assert seen.status_code == 200
    assert seen.json()["balance"] == "150.00"
    missing = await api.call("GET", "/members/999999/wallet", "staff")
    assert missing.status_code == 404


async def test_a_purchase_pays_from_the_wallet_once(api: Api) -> None:
    member_id = await _member_with_cashback(api)
    body = _purchase("w-pay", "400.00", wallet="120.00")
    paid = await api.call("POST", "/purchases", "pos", json=body, headers=CARD)
    assert paid.status_code == 201, paid.text
    assert paid.json()["wallet_paid"] == "120.00"
    again = await api.call("POST", "/purchases", "pos", json=body, headers=CARD)
    assert again.status_code == 200
    assert again.json()["wallet_paid"] == "120.00"
    read = await api.call("GET", f"/members/{member_id}/wallet", "staff")
    assert read.json()["balance"] == "30.00"
    assert read.json()["items"][0]["kind"] == "spend"
    assert read.json()["items"][0]["amount"] == "-120.00"


async def test_more_than_the_balance_is_422_naming_the_field(api: Api) -> None:
    member_id = await _member_with_cashback(api)
    refused = await api.call("POST", "/purchases", json=_purchase("w-over", "400.00", "150.01"))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("wallet_insufficient", "wallet_amount")
    async with api.database.read() as session:
        stored = await session.scalar(select(Purchase.id).where(Purchase.external_id == "w-over"))
    assert stored is None
    read = await api.call("GET", f"/members/{member_id}/wallet", "staff")
    assert read.json()["balance"] == "150.00"
    above = await api.call("POST", "/purchases", json=_purchase("w-above", "10.00", "10.01"))
    assert above.status_code == 422
    assert above.json()["error"]["code"] == "wallet_amount_invalid"


async def test_the_quote_shows_what_the_wallet_can_pay(api: Api) -> None:
    await _member_with_cashback(api)
    cart = {
        "member_external_id": "w-1",
        "currency": "RUB",
        "lines": [{"sku": "S1", "quantity": 1, "unit_price": "100.00"}],
    }
    small = await api.call("POST", "/checkout/quote", "pos", json=cart, headers=CARD)
    assert small.status_code == 200, small.text
    assert (small.json()["wallet_balance"], small.json()["wallet_can_pay"]) == ("150.00", "100.00")
    cart["lines"] = [{"sku": "S1", "quantity": 1, "unit_price": "400.00"}]
    large = await api.call("POST", "/checkout/quote", "pos", json=cart, headers=CARD)
    assert (large.json()["wallet_balance"], large.json()["wallet_can_pay"]) == ("150.00", "150.00")
    anonymous = {k: v for k, v in cart.items() if k != "member_external_id"}
    nobody = await api.call("POST", "/checkout/quote", json=anonymous)
    assert (nobody.json()["wallet_balance"], nobody.json()["wallet_can_pay"]) == ("0.00", "0.00")


async def test_the_examples_app_cashback_runs_end_to_end(api: Api) -> None:
    example = (SEED_PROGRAM.parent / "campaigns-program.yaml").read_text()
    async with api.database.write() as session:
        await program_service.apply_program(session, text=example, created_by="test")
    enrolled = await api.call("POST", "/members", json={"external_id": "w-1"})
    member_id = enrolled.json()["id"]
    in_app = {**_purchase("w-app", "999.99"), "channel": "app"}
    assert (await api.call("POST", "/purchases", json=in_app)).status_code == 201
    assert (
        await api.call("POST", "/purchases", json=_purchase("w-shop", "1000.00"))
    ).status_code == 201
    assert (await dispatch_pending(api.database, DEFERRED_HANDLERS)).failed == 0
    read = await api.call("GET", f"/members/{member_id}/wallet", "staff")
    assert read.json()["balance"] == "49.99"  # 5 % of 999.99, rounded down; the shop's: none
