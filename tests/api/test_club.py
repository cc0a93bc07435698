"""The closed club and early access through the API (issue 12 part 6): the members' sale
opens two days early for Gold in the quote and in purchases, the quote and the rewards list
say who is eligible and why, and a gated reward redeemed by a non-eligible member is refused
with 403 ``reward_not_eligible`` and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from patron.api import deps
from patron.ledger.models import Account, LedgerEntry
from patron.members.models import Member
from patron.programs.models import ProgramRecord
from patron.rewards.models import Coupon
from tests.api.conftest import Api
from tests.api.test_purchases import enrol, purchase
from tests.api.test_rewards import funded_member
from tests.api.test_standing_discounts import EXAMPLE, _segment

TUESDAY_8TH = "2026-12-08T10:00:00Z"  # 13:00 in Moscow, two days before the sale opens
TEA = [("tea-1", "tea", 1, "1000.00")]


async def _apply(api: Api) -> None:
    # the server's clock on 11 December 2026, so that the 8th and the 10th are in the past
    later = datetime(2026, 12, 11, 12, 0, tzinfo=UTC)
    api.client._transport.app.dependency_overrides[deps.now] = lambda: later  # type: ignore[attr-defined]
    response = await api.call("PUT", "/program", content=EXAMPLE.encode())
    assert response.status_code == 200, response.text


async def _set_tier(api: Api, member_id: int, tier: str) -> None:
    async with api.database.write() as session:
        await session.execute(update(Member).where(Member.id == member_id).values(tier_id=tier))


def _cart(member: str) -> dict[str, Any]:
    return {
        "member_external_id": member,
        "currency": "RUB",
        "occurred_at": TUESDAY_8TH,
        "lines": [{"sku": "tea-1", "category": "tea", "quantity": 1, "unit_price": "1000.00"}],
    }


def _sale(body: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in body["breakdown"] if r["rule_id"] == "campaign:members-sale"), None)


async def test_the_members_sale_opens_two_days_early_for_gold(api: Api) -> None:
    await _apply(api)
    gold = await enrol(api, "gold-1")
    await _set_tier(api, gold["id"], "gold")
    await enrol(api, "plain-1")
    quote = (await api.call("POST", "/checkout/quote", json=_cart("gold-1"))).json()
    # 5 % Gold discount: 1,000.00 - 50.00 = 950.00 paid; base floor(950 x 100 / 1000 x 1.5)
    # = 142 with the Gold multiplier; the sale doubles the base rate: floor(95 x (2 - 1)) = 95
    sale = _sale(quote)
    assert sale is not None
    assert (sale["applied"], sale["points"]) == (True, 95)
    assert quote["points_earned"] == 142 + 95
    items = {e["key"]: e for e in quote["eligibility"] if e["kind"] == "campaign"}
    assert items["members-sale"] == {
        "kind": "campaign",
        "key": "members-sale",
        "eligible": True,
        "code": "early_access",
        "params": {
            "opens_at": "2026-12-08T00:00:00+03:00",
            "opens_for_everyone_at": "2026-12-10T00:00:00+03:00",
            "tier": "gold",
        },
    }
    plain = (await api.call("POST", "/checkout/quote", json=_cart("plain-1"))).json()
    assert _sale(plain) is None
    assert plain["points_earned"] == 100
    item = next(e for e in plain["eligibility"] if e["key"] == "members-sale")
    assert (item["eligible"], item["code"]) == (False, "not_open_yet")
    assert item["params"]["opens_at"] == "2026-12-10T00:00:00+03:00"
    assert item["params"]["early_access"]["code"] == "tier_not_in_audience"
    # purchases recorded that day: Gold gets the sale, the others do not
    body = purchase("g-8", "gold-1", TEA, total="950.00", at=TUESDAY_8TH)
    recorded = (await api.call("POST", "/purchases", json=body)).json()
    assert recorded["points_earned"] == 237
    assert _sale(recorded) == sale
    body = purchase("p-8", "plain-1", TEA, at=TUESDAY_8TH)
    recorded = (await api.call("POST", "/purchases", json=body)).json()
    assert (recorded["points_earned"], _sale(recorded)) == (100, None)
    # from the 10th, everyone
    body = purchase("p-10", "plain-1", TEA, at="2026-12-10T10:00:00Z")
    recorded = (await api.call("POST", "/purchases", json=body)).json()
    assert recorded["points_earned"] == 200


async def _state(api: Api) -> tuple[Any, ...]:
    async with api.database.read() as session:
        coupons = (await session.execute(select(func.count()).select_from(Coupon))).scalar_one()
        entries = (
            await session.execute(select(func.count()).select_from(LedgerEntry))
        ).scalar_one()
        accounts = (await session.execute(select(Account.available).order_by(Account.id))).scalars()
        return coupons, entries, list(accounts)


async def test_a_club_reward_shows_why_and_refuses_the_others_changing_nothing(api: Api) -> None:
    await _apply(api)
    outsider = await funded_member(api, "out-1", 1500)  # 150 points
    insider = await funded_member(api, "in-1", 1500)
    async with api.database.write() as session:
        program_id = (await session.execute(select(ProgramRecord.id))).scalar_one()
        session.add(_segment(insider, program_id, "loyal"))
    listed = (await api.call("GET", f"/rewards?member_id={outsider}")).json()
    club = next(r for r in listed if r["code"] == "CLUB-TASTING")
    assert (club["available"], club["reasons"]) == (False, ["reward_not_eligible"])
    assert club["audience"] == {"segments": ["champions", "loyal"]}
    assert club["eligibility"] == {
        "eligible": False,
        "code": "segment_not_in_audience",
        "params": {"segments": ["champions", "loyal"], "member_segments": []},
    }
    gold_only = next(r for r in listed if r["code"] == "GOLD-PREVIEW")
    assert gold_only["eligibility"] == {
        "eligible": False,
        "code": "tier_required",
        "params": {"min_tier": "gold", "tier": None},
    }
    open_one = next(r for r in listed if r["code"] == "DISC10")
    assert open_one["eligibility"] == {"eligible": True, "code": "everyone", "params": {}}
    before = await _state(api)
    refused = await api.call(
        "POST",
        "/redemptions",
        json={"member_id": outsider, "reward_code": "CLUB-TASTING", "idempotency_key": "c-1"},
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == {
        "code": "reward_not_eligible",
        "message": "reward 'CLUB-TASTING' is for members of its audience only "
        "(segment_not_in_audience)",
        "field": "reward_code",
        "params": {},
    }
    assert await _state(api) == before
    mine = (await api.call("GET", f"/rewards?member_id={insider}")).json()
    club = next(r for r in mine if r["code"] == "CLUB-TASTING")
    assert (club["available"], club["eligibility"]["code"]) == (True, "in_audience")
    assert club["eligibility"]["params"] == {"segments": ["loyal"]}
    redeemed = await api.call(
        "POST", "/redemptions", json={"member_id": insider, "reward_code": "CLUB-TASTING"}
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["balance_after"] == 50
    # without a member the catalogue shows the audience and no eligibility
    anyone = (await api.call("GET", "/rewards")).json()
    club = next(r for r in anyone if r["code"] == "CLUB-TASTING")
    assert (club["available"], club["eligibility"]) == (True, None)


async def test_unknown_tiers_in_a_reward_audience_are_refused(api: Api) -> None:
    text = EXAMPLE.replace("audience: {segments: [champions, loyal]}", "audience: {tiers: [vip]}")
    response = await api.call("PUT", "/program", content=text.encode())
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [(d["path"], d["message"]) for d in details] == [
        ("rewards[4].audience.tiers", "names unknown tiers ['vip']")
    ]
