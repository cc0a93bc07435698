"""Purchases that do not add up are refused, and points follow the money paid (issue 14):
line discounts, order-level discounts spread over the lines, totals above the lines, dates
in the future. Every path that records or quotes a purchase applies the same rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from patron.ledger.models import Account, LedgerEntry, Lot
from patron.programs import service as program_service
from patron.purchases.models import Purchase, PurchaseLine
from tests.api.conftest import Api
from tests.api.test_purchases import TUESDAY, enrol, purchase
from tests.conftest import SEED_PROGRAM

TEA_15000 = [("tea-1", "tea", 15, "1000.00")]


async def _state(api: Api) -> tuple[Any, ...]:
    """Row counts of everything a purchase writes, and every account's counters."""
    async with api.database.read() as session:
        counts = [
            (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (Purchase, PurchaseLine, LedgerEntry, Lot)
        ]
        accounts = (
            await session.execute(
                select(Account.available, Account.pending, Account.lifetime_earned).order_by(
                    Account.id
                )
            )
        ).all()
    return (*counts, [tuple(row) for row in accounts])


async def _member_with_a_purchase(api: Api, name: str) -> None:
    await enrol(api, name)
    first = await api.call("POST", "/purchases", json=purchase(f"{name}-0", name, TEA_15000[:1]))
    assert first.status_code == 201, first.text


async def _post_both_ways(
    api: Api, body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any]:
    """The body through the direct fast path (``application/json``) and through FastAPI's
    standard handler (a ``+json`` type, which the fast path hands over); the standard one is
    checked to have been routed."""
    routed: list[str] = []
    handle = APIRoute.handle

    async def counted(self: APIRoute, scope: Any, receive: Any, send: Any) -> None:
        routed.append(self.path)
        await handle(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", counted)
    content = json.dumps(body).encode()
    direct = await api.client.post(
        "/api/v1/purchases",
        content=content,
        headers={**api.as_role("pos"), "content-type": "application/json"},
    )
    assert routed == []
    standard = await api.client.post(
        "/api/v1/purchases",
        content=content,
        headers={**api.as_role("pos"), "content-type": "application/vnd.patron+json"},
    )
    assert routed == ["/purchases"]
    return direct, standard


async def test_a_total_above_the_lines_is_refused_alike_on_both_routes_and_writes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _member_with_a_purchase(api, "t-1")
    before = await _state(api)
    body = purchase("t-1-big", "t-1", [("tea-1", "tea", 1, "1000.00")], shipping="300.00")
    body["total"] = "1300.01"
    direct, standard = await _post_both_ways(api, body, monkeypatch)
    assert (direct.status_code, standard.status_code) == (422, 422)
    assert direct.json() == standard.json()
    assert direct.json() == {
        "error": {
            "code": "total_mismatch",
            "message": "the total 1300.01 is above the lines less their discounts plus "
            "shipping: 1300.00",
            "field": "total",
            "params": {"total": "1300.01", "most": "1300.00", "currency": "RUB"},
        }
    }
    assert await _state(api) == before


async def test_a_purchase_dated_ahead_is_refused_alike_on_both_routes_and_writes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _member_with_a_purchase(api, "t-2")
    before = await _state(api)
    ahead = datetime.now(UTC) + timedelta(minutes=11)
    body = purchase("t-2-ahead", "t-2", TEA_15000, at=ahead.isoformat())
    direct, standard = await _post_both_ways(api, body, monkeypatch)
    assert (direct.status_code, standard.status_code) == (422, 422)
    assert direct.json() == standard.json()
    error = direct.json()["error"]
    assert (error["code"], error["field"]) == ("occurred_in_future", "occurred_at")
    assert await _state(api) == before
    soon = datetime.now(UTC) + timedelta(minutes=9)
    allowed = await api.call(
        "POST", "/purchases", json=purchase("t-2-soon", "t-2", TEA_15000, at=soon.isoformat())
    )
    assert allowed.status_code == 201, allowed.text


async def test_the_future_margin_is_the_programs_setting(api: Api) -> None:
    text = SEED_PROGRAM.read_text().replace(
        "\nreturns:", "\npurchases:\n  max_future_minutes: 120\n\nreturns:", 1
    )
    async with api.database.write() as session:
        await program_service.apply_program(session, text=text, created_by="test")
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    allowed = await api.call(
        "POST", "/purchases", json=purchase("m-1", None, TEA_15000, at=in_an_hour)
    )
    assert allowed.status_code == 201, allowed.text
    in_three = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    refused = await api.call(
        "POST", "/purchases", json=purchase("m-2", None, TEA_15000, at=in_three)
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "occurred_in_future"


async def test_a_zero_total_earns_nothing(api: Api) -> None:
    """The issue's case: lines worth 15,000.00 paid 0.00 earned points for 15,000.00."""
    await enrol(api, "t-3")
    body = {**purchase("t-3-free", "t-3", TEA_15000), "total": "0.00"}
    recorded = await api.call("POST", "/purchases", json=body)
    assert recorded.status_code == 201, recorded.text
    result = recorded.json()
    assert result["points_earned"] == 0
    assert [(line["amount"], line["paid"]) for line in result["lines"]] == [("15000.00", "0.00")]
    # the same lines paid in full: 1,500 base + the big-basket bonus
    paid = await api.call("POST", "/purchases", json=purchase("t-3-paid", "t-3", TEA_15000))
    assert paid.json()["points_earned"] == 2000


async def test_line_and_order_discounts_earn_on_what_each_line_was_paid(api: Api) -> None:
    await enrol(api, "t-4")
    lines = [("cof-1", "coffee", 1, "500.00"), ("tea-1", "tea", 1, "900.00")]
    body = purchase("t-4-1", "t-4", lines, at=TUESDAY)
    body["lines"][1]["discount"] = "200.00"  # tea: 700.00 after its own discount
    body["total"] = "1000.00"  # 200.00 off the order: coffee 83.33, tea 116.67
    recorded = await api.call("POST", "/purchases", json=body)
    assert recorded.status_code == 201, recorded.text
    result = recorded.json()
    shown = [(x["amount"], x["discount"], x["paid"]) for x in result["lines"]]
    assert shown == [("500.00", "0.00", "416.67"), ("900.00", "200.00", "583.33")]
    # eligible = 416.67 x 2 (coffee-double) + 583.33 = 1416.67 -> floor(141.667)
    assert result["points_earned"] == 141
    again = await api.call("POST", "/purchases", json=body)
    assert (again.status_code, again.json()) == (200, result)


async def test_a_line_discount_above_its_line_is_refused_and_writes_nothing(api: Api) -> None:
    await _member_with_a_purchase(api, "t-5")
    before = await _state(api)
    body = purchase("t-5-1", "t-5", [("tea-1", "tea", 2, "100.00"), ("tea-2", "tea", 1, "5.00")])
    body["lines"][1]["discount"] = "5.01"
    refused = await api.call("POST", "/purchases", json=body, role="pos")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_amount", "lines[1].discount")
    body["lines"][1]["discount"] = "-1.00"
    negative = await api.call("POST", "/purchases", json=body, role="pos")
    assert negative.status_code == 422
    assert negative.json()["error"]["field"] == "lines[1].discount"
    assert await _state(api) == before


async def test_the_batch_refuses_what_does_not_add_up_and_keeps_the_rest(api: Api) -> None:
    await _member_with_a_purchase(api, "t-6")
    good = purchase("t-6-good", "t-6", [("tea-1", "tea", 1, "1000.00")])
    above = {**purchase("t-6-above", "t-6", [("tea-1", "tea", 1, "1000.00")]), "total": "1000.01"}
    ahead = purchase(
        "t-6-ahead", "t-6", TEA_15000, at=(datetime.now(UTC) + timedelta(days=1)).isoformat()
    )
    response = await api.call(
        "POST", "/purchases/batch", json={"purchases": [above, good, ahead]}, role="pos"
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [422, 201, 422]
    assert [(r["error"] or {}).get("code") for r in results] == [
        "total_mismatch",
        None,
        "occurred_in_future",
    ]
    async with api.database.read() as session:
        recorded = (await session.execute(select(Purchase.external_id))).scalars().all()
    assert sorted(recorded) == ["t-6-0", "t-6-good"]


async def test_a_return_of_discounted_lines_refunds_and_reverses_what_was_paid(api: Api) -> None:
    member = await enrol(api, "t-7")
    lines = [("tea-1", "tea", 3, "100.00"), ("tea-2", "tea", 1, "33.00")]
    body = {**purchase("t-7-1", "t-7", lines), "total": "300.00"}  # 33.00 off the order
    result = (await api.call("POST", "/purchases", json=body)).json()
    assert result["points_earned"] == 30  # floor(300.00 / 10), not the 333.00 of the lines
    assert [line["paid"] for line in result["lines"]] == ["270.27", "29.73"]

    async def give_back(external_id: str, line_no: int, quantity: int) -> dict[str, Any]:
        returned = await api.call(
            "POST",
            f"/purchases/{result['id']}/returns",
            json={
                "external_id": external_id,
                "lines": [{"line_no": line_no, "quantity": quantity}],
            },
        )
        assert returned.status_code == 201, returned.text
        return dict(returned.json())

    one = await give_back("r-1", 1, 1)  # floor(270.27 x 1/3)
    assert (one["amount"], one["points_reversed"]) == ("90.09", 9)  # floor(30 x 90.09/300)
    two = await give_back("r-2", 1, 2)  # 270.27 - 90.09: the whole line, exactly
    assert (two["amount"], two["points_reversed"]) == ("180.18", 18)  # 27 in all
    last = await give_back("r-3", 2, 1)
    assert (last["amount"], last["points_reversed"]) == ("29.73", 3)
    shown = (await api.call("GET", f"/purchases/{result['id']}")).json()
    assert (shown["refunded"], shown["points_reversed"]) == ("300.00", 30)
    points = (await api.call("GET", f"/members/{member['id']}")).json()["points"]
    assert points["pending"] + points["available"] == 0


async def test_the_quote_applies_the_same_rules(api: Api) -> None:
    cart: dict[str, Any] = {
        "currency": "RUB",
        "occurred_at": TUESDAY,
        "lines": [
            {"sku": "cof-1", "category": "coffee", "quantity": 1, "unit_price": "500.00"},
            {"sku": "tea-1", "category": "tea", "quantity": 1, "unit_price": "900.00"},
        ],
    }
    cart["lines"][1]["discount"] = "200.00"
    quoted = await api.call("POST", "/checkout/quote", json=cart, role="pos")
    assert quoted.status_code == 200, quoted.text
    # no total given: what is due, 1200.00; eligible = 500 x 2 + 700 = 1700.00
    assert (quoted.json()["total_due"], quoted.json()["points_earned"]) == ("1200.00", 170)
    discounted = await api.call(
        "POST", "/checkout/quote", json={**cart, "total": "1000.00"}, role="pos"
    )
    assert discounted.json()["points_earned"] == 141  # as recorded in the test above
    above = await api.call("POST", "/checkout/quote", json={**cart, "total": "1200.01"}, role="pos")
    assert above.status_code == 422
    assert (above.json()["error"]["code"], above.json()["error"]["field"]) == (
        "total_mismatch",
        "total",
    )
    ahead = (datetime.now(UTC) + timedelta(minutes=11)).isoformat()
    later = await api.call(
        "POST", "/checkout/quote", json={**cart, "occurred_at": ahead}, role="pos"
    )
    assert later.status_code == 422
    assert later.json()["error"]["code"] == "occurred_in_future"


async def test_a_time_with_no_utc_date_is_a_validation_error_not_a_crash(api: Api) -> None:
    """Found by the schema fuzzer on the batch route: 0001-01-01T00:00:00+00:01 is in year 0
    in UTC, which Python cannot represent (it answered 500)."""
    body = purchase("t-8", None, TEA_15000, at="0001-01-01T00:00:00+00:01")
    for path, payload in (("/purchases", body), ("/purchases/batch", {"purchases": [body]})):
        response = await api.call("POST", path, json=payload, role="pos")
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "validation_error"
        assert response.json()["error"]["field"].endswith("occurred_at")


@pytest.mark.parametrize("total", ["١٥٠.٠٠", "150.00\n"])
async def test_an_amount_in_other_digits_or_with_a_newline_is_refused_and_writes_nothing(
    api: Api, total: str
) -> None:
    """The amount patterns take ASCII digits only (``\\d`` matches every script's digits, in
    Python and in pydantic's patterns) and the whole text (a trailing newline is not part of
    an amount): a validation error on the field, on the single and the batch route."""
    await _member_with_a_purchase(api, "t-9")
    before = await _state(api)
    body = purchase("t-9-odd", "t-9", [("tea-1", "tea", 1, "150.00")])
    body["total"] = total
    for path, payload in (("/purchases", body), ("/purchases/batch", {"purchases": [body]})):
        response = await api.call("POST", path, json=payload, role="pos")
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "validation_error"
        assert response.json()["error"]["field"].endswith("total")
    assert await _state(api) == before
