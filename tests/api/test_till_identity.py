"""A till (``pos`` key) acts only for a member it has identified (``patron.api.till_identity``):
every till route that names a member by numeric id refuses without the card token, the card
number or the phone of that member (403 ``member_not_identified``, nothing changes), and works
with any of them; a forged or expired card token is 422 ``member_token_invalid``; staff and
admin keys present nothing; ``access.pos_member_id: true`` lets tills act by id alone."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from patron.kit.time import utcnow
from patron.members import card
from patron.notifications import tokens
from tests.api.conftest import Api
from tests.api.test_role_matrix import _snapshot
from tests.conftest import REPO

PROGRAM = (REPO / "examples" / "campaigns-program.yaml").read_text()
AGO = (datetime.now(UTC) - timedelta(days=40)).isoformat()
TOKEN = "X-Patron-Member-Token"
CARD = "X-Patron-Member-External-Id"
PHONE = "X-Patron-Member-Phone"
_numbers = itertools.count()


@dataclass
class Shop:
    api: Api
    member_id: int
    other_id: int
    key: bytes

    def token(self, member_id: int | None = None, *, minutes: int = card.CARD_MINUTES) -> str:
        expires_at = (utcnow() + timedelta(minutes=minutes)).replace(microsecond=0)
        return card.sign_card_token(
            self.key, member_id=member_id or self.member_id, expires_at=expires_at
        )

    async def coupon(self) -> str:
        body = {"member_id": self.member_id, "reward_code": "DISC10"}
        answer = await self.api.call("POST", "/redemptions", "admin", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["coupon_code"])


def _purchase(n: int, **member: Any) -> dict[str, Any]:
    return {
        "external_id": f"till-{n}",
        "occurred_at": AGO,
        "currency": "RUB",
        "total": "100.00",
        "lines": [{"sku": "tea-1", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
        **member,
    }


async def _shop(api: Api, extra: str = "") -> Shop:
    applied = await api.client.put(
        "/api/v1/program",
        content=PROGRAM + extra,
        headers={**api.as_role("admin"), "content-type": "application/yaml"},
    )
    assert applied.status_code == 200, applied.text
    ids = []
    for external_id, phone in (("card-1", "+48601234567"), ("card-2", "+48601234568")):
        body = {"external_id": external_id, "phone": phone, "email": f"{external_id}@example.com"}
        enrolled = await api.call("POST", "/members", "admin", json=body)
        assert enrolled.status_code == 201, enrolled.text
        ids.append(int(enrolled.json()["id"]))
        funding = _purchase(next(_numbers), member_external_id=external_id)
        funding["total"] = funding["lines"][0]["unit_price"] = "20000.00"
        assert (await api.call("POST", "/purchases", "pos", json=funding)).status_code == 201
    async with api.database.write() as session:
        key = await tokens.signing_key(session, utcnow())
    return Shop(api=api, member_id=ids[0], other_id=ids[1], key=key)


@dataclass(frozen=True)
class Route:
    """A till route naming the member by id, and the status it answers once identified."""

    method: str
    path: str
    status: int
    body: Any = None
    query: bool = False  # the member's id in the query (``member_id``)


ROUTES = [
    Route("GET", "/members/{id}", 200),
    Route("PATCH", "/members/{id}", 200, {"name": "Anna {n}"}),
    Route("POST", "/members/{id}/consents", 200, {"channel": "sms", "is_granted": True}),
    Route("GET", "/members/{id}/ledger", 200),
    Route("GET", "/members/{id}/tier-history", 200),
    Route("GET", "/members/{id}/referral", 200),
    Route("GET", "/rewards", 200, query=True),
    Route("POST", "/redemptions", 201, {"reward_code": "DISC10", "idempotency_key": "r-{n}"}),
    Route("GET", "/coupons/{code}", 200, query=True),
    Route("POST", "/coupons/{code}/consume", 200, {"ref": "o-{n}"}),
    Route("POST", "/checkout/quote", 200, "quote"),
    Route("POST", "/purchases", 201, "purchase"),
    Route("POST", "/reviews", 201, {"rating": 5, "text": "good {n}"}),
    Route(
        "POST",
        "/events",
        201,
        {"type": "app_install", "occurred_at": "2026-12-01T10:00:00Z", "idempotency_key": "e-{n}"},
    ),
    Route("POST", "/tickets", 201, {"channel": "email", "category": "other", "subject": "s {n}"}),
]


async def _send(
    shop: Shop, route: Route, headers: dict[str, str], role: str = "pos", code: str | None = None
) -> httpx.Response:
    n = next(_numbers)
    path = route.path.replace("{id}", str(shop.member_id))
    if "{code}" in path:
        path = path.replace("{code}", code or await shop.coupon())
    body: Any = None
    if route.body == "purchase":
        body = _purchase(n, member_id=shop.member_id)
    elif route.body == "quote":
        body = {
            k: v for k, v in _purchase(n, member_id=shop.member_id).items() if k != "external_id"
        }
    elif isinstance(route.body, dict):
        body = {k: v.format(n=n) if isinstance(v, str) else v for k, v in route.body.items()}
        if "{id}" not in route.path:
            body["member_id"] = shop.member_id
        if route.path == "/tickets":
            body["text"] = "text"
    params = {"member_id": str(shop.member_id)} if route.query else None
    return await shop.api.call(route.method, path, role, headers=headers, json=body, params=params)


def _error(response: httpx.Response) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
async def test_a_till_acts_only_for_the_member_it_identified(api: Api, route: Route) -> None:
    shop = await _shop(api)
    code = await shop.coupon() if "{code}" in route.path else None
    before = await _snapshot(api.database)
    refused = {
        "nothing": {},
        "another's card": {CARD: "card-2"},
        "an unknown card": {CARD: "card-404"},
        "another's phone": {PHONE: "+48601234568"},
        "another's token": {TOKEN: shop.token(shop.other_id)},
    }
    for what, headers in refused.items():
        answer = await _send(shop, route, headers, code=code)
        assert _error(answer) == (403, "member_not_identified", "member_id"), (what, answer.text)
    assert await _snapshot(api.database) == before
    for headers in ({CARD: "card-1"}, {TOKEN: shop.token()}, {PHONE: "+48 601 234 567"}):
        answer = await _send(shop, route, headers)
        assert answer.status_code == route.status, (headers, answer.text)
    for role in ("admin", "staff"):  # staff and admin present nothing
        answer = await _send(shop, route, {}, role=role)
        assert answer.status_code in (route.status, 403), answer.text
        if answer.status_code == 403:  # a route staff may not call at all
            assert _error(answer)[1] == "forbidden"


async def test_a_batch_refuses_each_purchase_of_a_member_not_identified(api: Api) -> None:
    shop = await _shop(api)
    batch = {
        "purchases": [
            _purchase(next(_numbers), member_id=shop.member_id),
            _purchase(next(_numbers), member_id=shop.other_id),
            _purchase(next(_numbers), member_external_id="card-2"),
        ]
    }
    answer = await api.call("POST", "/purchases/batch", "pos", json=batch, headers={CARD: "card-1"})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [result["status"] for result in results] == [201, 403, 201]
    assert results[1]["error"]["code"] == "member_not_identified"


async def test_the_card_token_finds_the_member(api: Api) -> None:
    shop = await _shop(api)
    found = await api.call("GET", f"/members/by-token/{shop.token()}", "pos")
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["id"], body["external_id"], body["email"], body["phone"]) == (
        shop.member_id,
        "card-1",
        None,
        None,
    )
    assert "available" in body["points"]
    staff = (await api.call("GET", f"/members/by-token/{shop.token()}", "staff")).json()
    assert staff["email"] == "card-1@example.com"


async def test_a_forged_or_expired_token_is_refused(api: Api) -> None:
    shop = await _shop(api)
    good = shop.token()
    member_id, expires, signature = good.split(".")
    forged = {
        "expired": shop.token(minutes=-1),
        "too far ahead": shop.token(minutes=card.CARD_MINUTES + 5),
        "another member's id": f"{shop.other_id}.{expires}.{signature}",
        "a later expiry": f"{member_id}.{int(expires) + 1}.{signature}",
        "another key": card.sign_card_token(
            b"x" * 32, member_id=shop.member_id, expires_at=utcnow() + timedelta(minutes=5)
        ),
        "not a token": "hello",
        "a member who is not there": card.sign_card_token(
            shop.key, member_id=999_999, expires_at=utcnow() + timedelta(minutes=5)
        ),
    }
    before = await _snapshot(api.database)
    for what, token in forged.items():
        answer = await api.call("GET", f"/members/by-token/{token}", "pos")
        assert _error(answer) == (422, "member_token_invalid", "token"), (what, answer.text)
        body = {"member_id": shop.member_id, "reward_code": "DISC10"}
        redeem = await api.call("POST", "/redemptions", "pos", json=body, headers={TOKEN: token})
        assert _error(redeem) == (422, "member_token_invalid", TOKEN), (what, redeem.text)
    assert await _snapshot(api.database) == before


async def test_an_erased_members_token_stops_working(api: Api) -> None:
    shop = await _shop(api)
    token = shop.token()
    assert (await api.call("POST", f"/members/{shop.member_id}/erase", "admin")).status_code == 200
    answer = await api.call("GET", f"/members/by-token/{token}", "pos")
    assert _error(answer) == (422, "member_token_invalid", "token")


async def test_the_program_may_let_tills_act_by_id(api: Api) -> None:
    shop = await _shop(api, "\naccess:\n  pos_member_id: true\n")
    for route in ROUTES:
        answer = await _send(shop, route, {})
        assert answer.status_code == route.status, (route, answer.text)
    # what a till presents is still checked
    body = {"member_id": shop.member_id, "reward_code": "DISC10"}
    wrong = await api.call("POST", "/redemptions", "pos", json=body, headers={CARD: "card-2"})
    assert _error(wrong) == (403, "member_not_identified", "member_id")
    forged = await api.call("POST", "/redemptions", "pos", json=body, headers={TOKEN: "1.2.x"})
    assert _error(forged) == (422, "member_token_invalid", TOKEN)
