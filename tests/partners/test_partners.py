"""Coalition partners through the API: earning at the partner's rate, paying with points,
returns, idempotent retries, a partner key confined to its own partner, bad input, and a
settlement that reconciles with the ledger's rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.ledger.models import LedgerEntry
from patron.purchases.models import Purchase
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.partners.helpers import apply, enrol, ledger_figures

PERIOD = {"from": "2026-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z"}


def _buy(external_id: str, card: str, amount: str, days_ago: int = 20) -> dict[str, Any]:
    at = (utcnow() - timedelta(days=days_ago)).isoformat()
    return {
        "external_id": external_id,
        "member_external_id": card,
        "amount": amount,
        "occurred_at": at,
    }


def _pay(external_id: str, card: str, points: int) -> dict[str, Any]:
    return {"external_id": external_id, "member_external_id": card, "points": points}


async def _count(database: Database, model: Any) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _settlement(api: Api, partner: str, role: str = "admin") -> dict[str, Any]:
    response = await api.call("GET", f"/partners/{partner}/settlement", role, params=PERIOD)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_partner_purchase_earns_at_the_partners_rate_once(api: Api) -> None:
    await apply(api)
    member = await enrol(api, "card-1")
    body = _buy("bill-1", "card-1", "125.50")
    first = await api.call("POST", "/partners/cafe-nord/purchases", "partner", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["points"] == 24  # 2 points per whole 10.00 of 125.50
    assert first.json()["member_id"] == member
    again = await api.call("POST", "/partners/cafe-nord/purchases", "partner", json=body)
    assert again.status_code == 200
    assert again.json() == first.json()
    other = await api.call(
        "POST", "/partners/cafe-nord/purchases", "partner", json={**body, "amount": "99.00"}
    )
    assert other.status_code == 409
    assert (other.json()["error"]["code"], other.json()["error"]["field"]) == (
        "idempotency_conflict",
        "external_id",
    )
    points = await api.call("GET", f"/members/{member}")
    assert points.json()["points"]["available"] == 24
    assert await _count(api.database, Purchase) == 1


async def test_paying_with_points_is_idempotent_and_refuses_a_shortfall(api: Api) -> None:
    await apply(api)
    member = await enrol(api, "card-1")
    buy = _buy("bill-1", "card-1", "100.00")
    assert (await api.call("POST", "/partners/kino/purchases", "admin", json=buy)).json()[
        "points"
    ] == 33
    first = await api.call(
        "POST", "/partners/kino/payments", "admin", json=_pay("p-1", "card-1", 30)
    )
    assert first.status_code == 201, first.text
    again = await api.call(
        "POST", "/partners/kino/payments", "admin", json=_pay("p-1", "card-1", 30)
    )
    assert (again.status_code, again.json()) == (200, first.json())
    changed = await api.call(
        "POST", "/partners/kino/payments", "admin", json=_pay("p-1", "card-1", 3)
    )
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_conflict"
    short = await api.call(
        "POST", "/partners/kino/payments", "admin", json=_pay("p-2", "card-1", 4)
    )
    assert short.status_code == 409
    assert short.json()["error"]["code"] == "insufficient_points"
    balance = (await api.call("GET", f"/members/{member}")).json()["points"]
    assert (balance["available"], balance["redeemed"]) == (3, 30)
    settled = await _settlement(api, "kino")
    assert (settled["points_issued"], settled["points_redeemed"]) == (33, 30)
    assert settled["owed_to_partner"] == 1500  # 30 points at 0.50
    assert settled["owed_by_partner"] == 44  # 33 x 0.0133 = 0.4389 -> 0.44
    assert settled["net"] == 44 - 1500


async def test_a_partner_key_sees_and_changes_only_its_own_partner(api: Api) -> None:
    await apply(api)
    await enrol(api, "card-1")
    listed = await api.call("GET", "/partners", "partner")
    assert [p["id"] for p in listed.json()] == ["cafe-nord"]
    assert [p["id"] for p in (await api.call("GET", "/partners")).json()] == ["cafe-nord", "kino"]
    before = await _count(api.database, LedgerEntry)
    for method, path, body in (
        ("POST", "/partners/kino/purchases", _buy("x-1", "card-1", "50.00")),
        ("POST", "/partners/kino/payments", _pay("x-2", "card-1", 1)),
        ("GET", "/partners/kino/settlement", None),
        ("GET", "/partners/nobody/settlement", None),
    ):
        response = await api.call(
            method, path, "partner", json=body, params=PERIOD if body is None else None
        )
        assert response.status_code == 403, (path, response.text)
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
            "partner_forbidden",
            "partner_id",
        )
    for role in ("staff", "pos"):
        refused = await api.call("GET", "/partners/cafe-nord/settlement", role, params=PERIOD)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
    for path in ("/members", "/purchases/1", "/rewards", "/program"):
        assert (await api.call("GET", path, "partner")).status_code == 403
    unknown = await api.call("GET", "/partners/nobody/settlement", params=PERIOD)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "partner_not_found"
    assert await _count(api.database, LedgerEntry) == before


async def test_bad_input_is_refused_with_its_field_and_changes_nothing(api: Api) -> None:
    await apply(api)
    await enrol(api, "card-1")
    cases = [
        ("purchases", _buy("b-1", "card-1", "10.001"), 422, "invalid_input", "amount"),
        ("purchases", _buy("b-1", "card-1", "0"), 422, "invalid_input", "amount"),
        (
            "purchases",
            {**_buy("b-1", "card-1", "1.00"), "currency": "EUR"},
            422,
            "invalid_input",
            "currency",
        ),
        (
            "purchases",
            _buy("b-1", "card-1", "5.00", days_ago=-2),
            422,
            "invalid_input",
            "occurred_at",
        ),
        (
            "purchases",
            _buy("b-1", "no-such-card", "5.00"),
            404,
            "member_not_found",
            "member_external_id",
        ),
        ("payments", _pay("p-1", "card-1", 0), 422, "validation_error", "points"),
        ("payments", _pay("p-1", "no-such-card", 1), 404, "member_not_found", "member_external_id"),
    ]
    for kind, body, status, code, field in cases:
        response = await api.call("POST", f"/partners/cafe-nord/{kind}", "partner", json=body)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == code, body
        assert field in (error.get("field") or ""), (body, error)
    backwards = await api.call(
        "GET",
        "/partners/cafe-nord/settlement",
        params={"from": "2027-01-02T00:00:00Z", "to": "2027-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["field"] == "to"
    unknown = await api.call(
        "POST", "/partners/nobody/purchases", json=_buy("b-2", "card-1", "5.00")
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "partner_not_found")
    assert await _count(api.database, LedgerEntry) == 0
    assert await _count(api.database, Purchase) == 0


async def test_a_return_reverses_the_points_and_the_settlement_counts_it(api: Api) -> None:
    await apply(api)
    await enrol(api, "card-1")
    await enrol(api, "card-2")
    start = utcnow() - timedelta(seconds=1)
    made = await api.call(
        "POST", "/partners/cafe-nord/purchases", "partner", json=_buy("b-1", "card-1", "200.00")
    )
    purchase = made.json()["purchase_id"]
    await api.call(
        "POST", "/partners/cafe-nord/purchases", "partner", json=_buy("b-2", "card-2", "55.00")
    )
    await api.call("POST", "/partners/kino/purchases", json=_buy("k-1", "card-2", "31.00"))
    await api.call("POST", "/partners/cafe-nord/payments", "partner", json=_pay("p-1", "card-2", 7))
    returned = await api.call(
        "POST",
        f"/purchases/{purchase}/returns",
        "pos",
        json={"external_id": "r-1", "amount": "50.00"},
    )
    assert returned.status_code == 201, returned.text
    assert returned.json()["points_reversed"] == 10  # a quarter of the 40 points
    settled = await _settlement(api, "cafe-nord", "partner")
    assert (
        settled["points_issued"],
        settled["points_returned"],
        settled["points_redeemed"],
    ) == (50, 10, 7)
    end = utcnow() + timedelta(seconds=1)
    figures = await ledger_figures(api.database, start, end)
    for partner in ("cafe-nord", "kino"):
        response = await api.call(
            "GET",
            f"/partners/{partner}/settlement",
            params={"from": start.isoformat(), "to": end.isoformat()},
        )
        got = response.json()
        assert {key: got[key] for key in figures[partner]} == figures[partner]
        assert got["net"] == got["owed_by_partner"] - got["owed_to_partner"]
    empty = await api.call(
        "GET",
        "/partners/cafe-nord/settlement",
        params={"from": end.isoformat(), "to": (end + timedelta(days=1)).isoformat()},
    )
    assert empty.json()["points_issued"] == 0


async def test_the_partner_returns_its_own_purchase_by_its_own_id(api: Api) -> None:
    await apply(api)
    member = await enrol(api, "card-1")
    await api.call(
        "POST", "/partners/cafe-nord/purchases", "partner", json=_buy("b-1", "card-1", "100.00")
    )
    await api.call("POST", "/partners/kino/purchases", json=_buy("b-1", "card-1", "30.00"))
    path = "/partners/cafe-nord/purchases/b-1/returns"
    first = await api.call("POST", path, "partner", json={"external_id": "r-1", "amount": "25.00"})
    assert first.status_code == 201, first.text
    assert first.json()["points_reversed"] == 5  # a quarter of the 20 points
    again = await api.call("POST", path, "partner", json={"external_id": "r-1", "amount": "25.00"})
    assert (again.status_code, again.json()) == (200, first.json())
    rest = await api.call("POST", path, "partner", json={"external_id": "r-2"})
    assert rest.json()["points_reversed"] == 15
    over = await api.call("POST", path, "partner", json={"external_id": "r-3", "amount": "1.00"})
    assert (over.status_code, over.json()["error"]["code"]) == (409, "return_exceeds_purchase")
    missing = await api.call(
        "POST", "/partners/cafe-nord/purchases/nope/returns", "partner", json={"external_id": "r"}
    )
    assert (missing.status_code, missing.json()["error"]["field"]) == (404, "external_id")
    other = await api.call(
        "POST", "/partners/kino/purchases/b-1/returns", "partner", json={"external_id": "r-9"}
    )
    assert (other.status_code, other.json()["error"]["code"]) == (403, "partner_forbidden")
    balance = (await api.call("GET", f"/members/{member}")).json()["points"]
    assert balance["available"] == 10  # kino's 10 points stand
    settled = await _settlement(api, "cafe-nord", "partner")
    assert (settled["points_issued"], settled["points_returned"]) == (20, 20)
    assert settled["owed_by_partner"] == 0
