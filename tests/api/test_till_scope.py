"""A till key (``pos``) does what a till does: it finds one member by card or phone, sees no
personal fields unless the program grants them, cannot list members, names the member when it
consumes a coupon, and cannot record an absurd purchase (``limits``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from patron.ledger.models import LedgerEntry
from patron.purchases.models import Purchase
from tests.api.conftest import Api
from tests.api.test_purchases import purchase
from tests.conftest import SEED_PROGRAM

PROFILE = {
    "external_id": "card-1",
    "name": "Anna",
    "email": "anna@example.com",
    "phone": "+48 601 234 567",
    "birth_date": "1990-05-01",
    "attributes": {"city": "Warsaw"},
}
AGO = (datetime.now(UTC) - timedelta(days=40)).isoformat()
HIDDEN = {"email": None, "phone": None, "birth_date": None, "attributes": {}}
CARD = "X-Patron-Member-External-Id"
CARD_1 = {CARD: "card-1"}  # the till identified the member by card


async def _enrol(api: Api, body: dict[str, Any] = PROFILE) -> dict[str, Any]:
    response = await api.call("POST", "/members", "admin", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _apply(api: Api, extra: str) -> None:
    text = SEED_PROGRAM.read_text() + "\n" + extra
    response = await api.client.put(
        "/api/v1/program",
        content=text,
        headers={**api.as_role("admin"), "content-type": "application/yaml"},
    )
    assert response.status_code == 200, response.text


async def _counts(api: Api) -> tuple[int, int]:
    async with api.database.read() as session:
        purchases = (await session.execute(select(func.count()).select_from(Purchase))).scalar()
        entries = (await session.execute(select(func.count()).select_from(LedgerEntry))).scalar()
    return int(purchases or 0), int(entries or 0)


async def test_pos_may_not_list_members(api: Api) -> None:
    await _enrol(api)
    response = await api.call("GET", "/members", "pos", params={"limit": 500})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    assert (await api.call("GET", "/members", "staff")).status_code == 200


async def test_pos_sees_name_tier_and_points_but_no_personal_fields(api: Api) -> None:
    member = await _enrol(api)
    reads = [
        await api.call("GET", f"/members/{member['id']}", "pos", headers=CARD_1),
        await api.call("GET", "/members/by-external-id/card-1", "pos"),
        await api.call("GET", "/members/by-phone/%2B48601234567", "pos"),
        await api.call(
            "PATCH", f"/members/{member['id']}", "pos", json={"name": "Anna K"}, headers=CARD_1
        ),
        await api.call(
            "POST",
            f"/members/{member['id']}/consents",
            "pos",
            json={"channel": "email", "is_granted": True},
            headers=CARD_1,
        ),
        await api.call("POST", "/members", "pos", json=PROFILE),  # the same enrolment: 200
    ]
    for response in reads:
        assert response.status_code == 200, response.text
        body = response.json()
        assert {name: body[name] for name in HIDDEN} == HIDDEN
        assert body["id"] == member["id"]
        assert body["name"].startswith("Anna")
        assert "available" in body["points"]
        assert "tier" in body
    staff = (await api.call("GET", f"/members/{member['id']}", "staff")).json()
    assert staff["email"] == "anna@example.com"
    assert staff["phone"] == "+48601234567"


async def test_the_program_may_grant_the_till_personal_fields(api: Api) -> None:
    member = await _enrol(api)
    await _apply(api, "access:\n  pos_member_fields: [phone, birth_date]\n")
    body = (await api.call("GET", f"/members/{member['id']}", "pos", headers=CARD_1)).json()
    assert body["phone"] == "+48601234567"
    assert body["birth_date"] == "1990-05-01"
    assert body["email"] is None
    assert body["attributes"] == {}


async def test_lookup_by_phone(api: Api) -> None:
    await _enrol(api)
    missing = await api.call("GET", "/members/by-phone/%2B48700000000", "pos")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "member_not_found")
    bad = await api.call("GET", "/members/by-phone/601234567", "pos")
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "phone")
    await _enrol(api, {**PROFILE, "external_id": "card-2"})
    shared = await api.call("GET", "/members/by-phone/%2B48601234567", "pos")
    assert (shared.status_code, shared.json()["error"]["code"]) == (409, "phone_not_unique")


async def test_pos_names_the_member_to_consume_a_coupon(api: Api) -> None:
    member = await _enrol(api)
    other = await _enrol(api, {"external_id": "card-9"})
    funding = purchase("fund", "card-1", [("tea-1", "tea", 1, "20000.00")], at=AGO)
    assert (await api.call("POST", "/purchases", "pos", json=funding)).status_code == 201
    redeemed = await api.call(
        "POST",
        "/redemptions",
        "pos",
        json={"member_id": member["id"], "reward_code": "DISC10"},
        headers=CARD_1,
    )
    code = redeemed.json()["coupon_code"]
    path = f"/coupons/{code}/consume"
    anonymous = await api.call("POST", path, "pos", json={"ref": "o-1"})
    assert (anonymous.status_code, anonymous.json()["error"]) == (
        422,
        {
            "code": "member_required",
            "message": "a till names the member using the coupon",
            "field": "member_id",
            "params": {},
        },
    )
    assert (await api.call("POST", path, "pos")).status_code == 422
    wrong = await api.call(
        "POST", path, "pos", json={"member_id": other["id"]}, headers={CARD: "card-9"}
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "coupon_not_yours")
    right = await api.call(
        "POST", path, "pos", json={"ref": "o-1", "member_id": member["id"]}, headers=CARD_1
    )
    assert right.status_code == 200, right.text


async def test_an_absurd_purchase_is_refused_by_the_default_limits(api: Api) -> None:
    await _enrol(api)
    before = await _counts(api)
    huge = purchase("huge", "card-1", [("tea-1", "tea", 1, "1500000000000.00")])
    response = await api.call("POST", "/purchases", "pos", json=huge)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("limit_exceeded", "total")
    assert "limits.max_purchase_total" in error["message"]
    # the values the message names, for a client to write it in its own words (issue 11.7)
    assert error["params"] == {
        "total": "1500000000000.00",
        "limit": "1000000.00",
        "currency": "RUB",
    }
    batch = await api.call("POST", "/purchases/batch", "pos", json={"purchases": [huge]})
    assert batch.json()["results"][0]["error"]["code"] == "limit_exceeded"
    assert batch.json()["results"][0]["error"]["params"] == error["params"]
    assert await _counts(api) == before


async def test_the_program_sets_the_limits(api: Api) -> None:
    await _enrol(api)
    await _apply(api, 'limits:\n  max_purchase_total: "5000.00"\n  max_points_per_purchase: 300\n')
    before = await _counts(api)
    total = purchase("t", "card-1", [("tea-1", "tea", 1, "5000.01")])
    answer = (await api.call("POST", "/purchases", "pos", json=total)).json()["error"]
    assert (answer["code"], answer["field"]) == ("limit_exceeded", "total")
    # 4,000 RUB earn 400 points at the seed's base rate: above 300
    points = purchase("p", "card-1", [("tea-1", "tea", 1, "4000.00")])
    answer = (await api.call("POST", "/purchases", "pos", json=points)).json()["error"]
    assert answer["code"] == "limit_exceeded"
    assert "limits.max_points_per_purchase" in answer["message"]
    assert answer["params"] == {"points": 400, "limit": 300}
    assert await _counts(api) == before
    fine = purchase("ok", "card-1", [("tea-1", "tea", 1, "2000.00")])
    assert (await api.call("POST", "/purchases", "pos", json=fine)).status_code == 201


async def test_a_limit_with_more_decimals_than_the_currency_is_refused(api: Api) -> None:
    text = SEED_PROGRAM.read_text() + '\nlimits:\n  max_purchase_total: "10.001"\n'
    response = await api.client.put(
        "/api/v1/program",
        content=text,
        headers={**api.as_role("admin"), "content-type": "application/yaml"},
    )
    assert response.status_code == 422
    assert "limits.max_purchase_total" in response.text
