"""The standing discount program (issue 12 part 4) through the API: the quote takes it off
before the coupons, a purchase records it in its breakdown, points follow what was paid, and
a purchase whose total did not take it off records what it did."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from patron.kit.time import utcnow
from patron.members.models import Member
from patron.programs.models import ProgramRecord
from patron.segments.models import MemberSegment
from tests.api.conftest import Api
from tests.api.test_purchases import TUESDAY, enrol, purchase
from tests.api.test_rewards import funded_member
from tests.conftest import REPO

EXAMPLE = (REPO / "examples" / "club-program.yaml").read_text()
CART = [("cof-1", "coffee", 1, "500.00"), ("tea-2", "tea", 1, "700.00")]


async def _apply(api: Api, text: str = EXAMPLE) -> None:
    response = await api.call("PUT", "/program", content=text.encode())
    assert response.status_code == 200, response.text


async def _vip(api: Api, external_id: str) -> int:
    response = await api.call(
        "POST", "/members", json={"external_id": external_id, "attributes": {"vip": True}}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _cart(member: str, coupons: list[str] | None = None) -> dict[str, Any]:
    return {
        "member_external_id": member,
        "currency": "RUB",
        "occurred_at": TUESDAY,
        "lines": [{"sku": s, "category": c, "quantity": q, "unit_price": p} for s, c, q, p in CART],
        "coupon_codes": coupons or [],
    }


async def _quote(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.call("POST", "/checkout/quote", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_vip_member_is_quoted_ten_percent_and_earns_on_what_is_paid(api: Api) -> None:
    await _apply(api)
    await _vip(api, "v-1")
    quote = await _quote(api, _cart("v-1"))
    # goods 1,200.00; 10 % = 120.00; total 1,080.00
    assert (quote["total_discount"], quote["total_due"]) == ("120.00", "1080.00")
    assert quote["standing_discount"] == {
        "key": "vip",
        "name": "Скидка VIP",
        "percent": "10",
        "amount": "120.00",
    }
    # 120.00 spread over the lines as 50.00 and 70.00: eligible = 450 x 2 + 630 = 1,530.00
    assert quote["points_earned"] == 153
    row = next(r for r in quote["breakdown"] if r["rule_id"] == "discount:vip")
    assert row == {
        "rule_id": "discount:vip",
        "name": "Скидка VIP",
        "applied": True,
        "reason": None,
        "effect": "percent_discount",
        "value": "10",
        "points": 0,
        "amount": "120.00",
    }
    discounts = [e for e in quote["eligibility"] if e["kind"] == "standing_discount"]
    assert {e["key"]: (e["eligible"], e["code"]) for e in discounts} == {
        "gold": (False, "tier_not_in_audience"),
        "champions": (False, "segment_not_in_audience"),
        "vip": (True, "in_audience"),
    }
    # the till charges the quoted total: the purchase records the discount and the same points
    recorded = await api.call(
        "POST", "/purchases", json=purchase("o-v1", "v-1", CART, total="1080.00")
    )
    assert recorded.status_code == 201, recorded.text
    body = recorded.json()
    assert body["points_earned"] == 153
    assert body["standing_discount"] == "120.00"
    assert [line["paid"] for line in body["lines"]] == ["450.00", "630.00"]
    shown = (await api.call("GET", f"/purchases/{body['id']}", role="staff")).json()
    assert shown["breakdown"] == body["breakdown"]
    assert next(r for r in shown["breakdown"] if r["rule_id"] == "discount:vip") == row


async def test_a_total_that_did_not_take_it_off_records_what_it_took(api: Api) -> None:
    await _apply(api)
    await _vip(api, "v-2")
    full = await api.call("POST", "/purchases", json=purchase("o-v2", "v-2", CART))
    assert full.status_code == 201, full.text
    row = next(r for r in full.json()["breakdown"] if r["rule_id"] == "discount:vip")
    assert (row["applied"], row["amount"]) == (False, "0.00")
    assert row["reason"] == "the total takes off 0.00 of the 120.00 due"
    assert full.json()["points_earned"] == 170  # 500 x 2 + 700, nothing taken off
    part = await api.call("POST", "/purchases", json=purchase("o-v3", "v-2", CART, total="1150.00"))
    row = next(r for r in part.json()["breakdown"] if r["rule_id"] == "discount:vip")
    assert (row["applied"], row["amount"]) == (True, "50.00")
    assert part.json()["standing_discount"] == "50.00"


async def test_coupons_stack_after_it_and_are_capped_at_what_it_left(api: Api) -> None:
    await _apply(api)
    member_id = await funded_member(api, "v-3", 1500)  # 150 points
    patched = await api.call("PATCH", f"/members/{member_id}", json={"attributes": {"vip": True}})
    assert patched.status_code == 200, patched.text
    coupon = (
        await api.call(
            "POST", "/redemptions", json={"member_id": member_id, "reward_code": "DISC10"}
        )
    ).json()["coupon_code"]
    quote = await _quote(api, _cart("v-3", [coupon]))
    # 10 % standing (120.00) first, then DISC10's 10 % of the subtotal (120.00): 960.00
    assert quote["discounts"][0]["amount"] == "120.00"
    assert (quote["total_discount"], quote["total_due"]) == ("240.00", "960.00")
    # 240.00 spread 100.00 / 140.00: eligible = 400 x 2 + 560 = 1,360.00 -> 136 points
    assert quote["points_earned"] == 136
    recorded = await api.call(
        "POST", "/purchases", json=purchase("o-v4", "v-3", CART, total="960.00")
    )
    assert recorded.json()["points_earned"] == 136
    assert recorded.json()["standing_discount"] == "120.00"


async def test_a_hundred_percent_with_a_gift_certificate_leaves_only_the_shipping(api: Api) -> None:
    text = EXAMPLE.replace('percent: "10"', 'percent: "100"')
    await _apply(api, text)
    await _vip(api, "v-4")
    body = _cart("v-4")
    body["shipping"] = "300.00"
    quote = await _quote(api, body)
    assert (quote["total_discount"], quote["total_due"]) == ("1200.00", "300.00")
    assert quote["points_earned"] == 0


async def test_tier_and_segment_audiences_and_no_member(api: Api) -> None:
    await _apply(api)
    gold = await enrol(api, "g-1")
    champion = await enrol(api, "s-1")
    async with api.database.write() as session:
        await session.execute(update(Member).where(Member.id == gold["id"]).values(tier_id="gold"))
        program_id = (await session.execute(select(ProgramRecord.id))).scalar_one()
        session.add(_segment(champion["id"], program_id, "champions"))
    quote = await _quote(api, _cart("g-1"))
    assert quote["standing_discount"]["amount"] == "60.00"  # 5 % of 1,200.00
    quote = await _quote(api, _cart("s-1"))
    assert quote["standing_discount"]["amount"] == "90.00"  # 7.5 % of 1,200.00
    nobody = _cart("x")
    del nobody["member_external_id"]
    quote = await _quote(api, nobody)
    assert quote["standing_discount"] is None
    assert {e["code"] for e in quote["eligibility"]} == {"no_member"}
    assert quote["total_due"] == "1200.00"


async def test_a_program_without_the_section_quotes_as_before(api: Api) -> None:
    await _vip(api, "v-5")
    quote = await _quote(api, _cart("v-5"))
    assert (quote["standing_discount"], quote["eligibility"]) == (None, [])
    assert (quote["total_due"], quote["points_earned"]) == ("1200.00", 170)
    recorded = await api.call("POST", "/purchases", json=purchase("o-v5", "v-5", CART))
    assert all("amount" not in row for row in recorded.json()["breakdown"])
    assert recorded.json()["standing_discount"] == "0.00"


async def test_an_invalid_section_is_refused_with_every_problem(api: Api) -> None:
    finer = EXAMPLE.replace('percent: "7.5"', 'percent: "7.555"')
    response = await api.call("PUT", "/program", content=finer.encode())
    assert response.status_code == 422, response.text
    paths = {d["path"] for d in response.json()["error"]["details"]}
    assert paths == {"standing_discounts[1].percent"}
    twice = (
        EXAMPLE.replace("tiers: [gold]}", "tiers: [diamond]}")
        + EXAMPLE[EXAMPLE.index("  - key: vip") :]
    )
    response = await api.call("PUT", "/program", content=twice.encode())
    assert response.status_code == 422, response.text
    messages = {d["message"] for d in response.json()["error"]["details"]}
    assert messages == {
        "names unknown tiers ['diamond']",
        "standing discount key 'vip' is used twice",
    }
    assert (await api.call("GET", "/program")).json()["version"] == 1


def _segment(member_id: int, program_id: int, name: str) -> MemberSegment:
    return MemberSegment(
        member_id=member_id,
        program_id=program_id,
        currency="RUB",
        recency_days=1,
        frequency=1,
        monetary=100,
        recency_score=5,
        frequency_score=5,
        monetary_score=5,
        rfm_segment=name,
        is_high_value=True,
        is_regular=False,
        is_category_lover=False,
        is_at_risk=False,
        horizon_days=365,
        computed_at=utcnow(),
    )
