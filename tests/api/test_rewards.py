from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.api.conftest import Api
from tests.api.test_purchases import enrol, purchase

CARD = "X-Patron-Member-External-Id"  # how the till identified the member


async def funded_member(api: Api, external_id: str, rubles: int) -> int:
    member = await enrol(api, external_id)
    at = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    body = purchase(
        f"fund-{external_id}", external_id, [("tea-1", "tea", 1, f"{rubles}.00")], at=at
    )
    assert (await api.call("POST", "/purchases", json=body)).status_code == 201
    return int(member["id"])


async def test_redeem_consume_and_refusals(api: Api) -> None:
    member_id = await funded_member(api, "r-1", 1500)  # 150 points
    response = await api.call(
        "POST",
        "/redemptions",
        role="pos",
        headers={CARD: "r-1"},
        json={"member_id": member_id, "reward_code": "DISC10", "idempotency_key": "k1"},
    )
    assert response.status_code == 201, response.text
    code = response.json()["coupon_code"]
    assert response.json()["balance_after"] == 50
    poor = await api.call(
        "POST", "/redemptions", json={"member_id": member_id, "reward_code": "GIFT500"}
    )
    assert poor.status_code == 409
    assert poor.json()["error"]["code"] == "insufficient_points"
    assert poor.json()["error"]["params"] == {"requested": 1000, "available": 50}
    gold_only = await api.call(
        "POST", "/redemptions", json={"member_id": member_id, "reward_code": "GOLD-PREVIEW"}
    )
    assert gold_only.status_code == 403
    assert gold_only.json()["error"]["code"] == "tier_required"
    points = (await api.call("GET", f"/members/{member_id}")).json()["points"]
    assert (points["available"], points["redeemed"]) == (50, 100)
    used = await api.call(
        "POST",
        f"/coupons/{code}/consume",
        json={"ref": "order-1", "member_id": member_id},
        role="pos",
        headers={CARD: "r-1"},
    )
    assert used.status_code == 200
    assert used.json()["status"] == "consumed"
    retry = await api.call(
        "POST",
        f"/coupons/{code}/consume",
        json={"ref": "order-1", "member_id": member_id},
        role="pos",
        headers={CARD: "r-1"},
    )
    assert retry.status_code == 200
    other = await api.call(
        "POST",
        f"/coupons/{code}/consume",
        json={"ref": "order-2", "member_id": member_id},
        role="pos",
        headers={CARD: "r-1"},
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "coupon_used"


async def test_fifty_simultaneous_redemptions_exactly_three_succeed(api: Api) -> None:
    member_id = await funded_member(api, "r-2", 3000)  # 300 points; DISC10 costs 100

    async def one(index: int) -> int:
        response = await api.call(
            "POST",
            "/redemptions",
            role="pos",
            headers={CARD: "r-2"},
            json={"member_id": member_id, "reward_code": "DISC10"},
        )
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "insufficient_points"
        return response.status_code

    codes = await asyncio.gather(*(one(i) for i in range(50)))
    assert sorted(codes).count(201) == 3
    assert codes.count(409) == 47
    points = (await api.call("GET", f"/members/{member_id}")).json()["points"]
    assert (points["available"], points["redeemed"]) == (0, 300)


async def test_quote_gives_points_discounts_and_hints(api: Api) -> None:
    member_id = await funded_member(api, "r-3", 1500)
    coupon = (
        await api.call(
            "POST", "/redemptions", json={"member_id": member_id, "reward_code": "DISC10"}
        )
    ).json()
    cart = {
        "member_id": member_id,
        "currency": "RUB",
        "occurred_at": "2026-12-01T10:00:00Z",
        "lines": [
            {"sku": "cof-1", "category": "coffee", "quantity": 1, "unit_price": "500.00"},
            {"sku": "tea-2", "category": "tea", "quantity": 1, "unit_price": "9000.00"},
        ],
        "coupon_codes": [coupon["coupon_code"]],
    }
    response = await api.call(
        "POST", "/checkout/quote", json=cart, role="pos", headers={CARD: "r-3"}
    )
    assert response.status_code == 200, response.text
    quote = response.json()
    assert quote["discounts"][0]["amount"] == "950.00"
    assert quote["total_due"] == "8550.00"
    # the coupon's 950.00 is spread over the lines (50.00 + 900.00): eligible = 450 x 2 (coffee
    # doubled) + 8,100 = 9,000.00 -> 900 points; the paid total 8,550 misses the bonus.
    assert quote["points_earned"] == 900
    assert [h["message"] for h in quote["hints"]] == ["spend 1450.00 RUB more for Big basket bonus"]
    # what a surface in another language renders instead of the English message
    assert [(h["code"], h["params"]) for h in quote["hints"]] == [
        (
            "spend_more",
            {"amount": "1450.00", "currency": "RUB", "rule_name": "Big basket bonus"},
        )
    ]
