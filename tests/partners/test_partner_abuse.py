"""The program's abuse controls and purchase limits hold at partners too (docs/partners.md,
"Abuse controls and limits"): a partner purchase counts toward ``abuse.max_purchases_per_hour``
with the shop's own purchases and is held by ``limits``; a payment with points counts toward
``abuse.max_redemptions_per_hour`` with the coupons redeemed and is held by
``limits.max_points_per_purchase``. Refused with the shop's error codes, changing nothing;
a retry of an accepted request is answered as before."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from patron.kit.time import utcnow
from tests.abuse.snapshot import changed, snapshot
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.api.test_purchases import purchase
from tests.partners.helpers import apply, enrol

PAST = (utcnow() - timedelta(days=20)).replace(microsecond=0).isoformat()  # points spendable


def _buy(external_id: str, amount: str = "100.00", card: str = "card-1") -> dict[str, Any]:
    return {
        "external_id": external_id,
        "member_external_id": card,
        "amount": amount,
        "occurred_at": PAST,
    }


def _pay(external_id: str, points: int, card: str = "card-1") -> dict[str, Any]:
    return {"external_id": external_id, "member_external_id": card, "points": points}


def _error(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


async def test_partner_purchases_count_toward_the_hourly_purchase_limit(api: Api) -> None:
    await apply(api, "abuse:\n  max_purchases_per_hour: 3\n")
    await enrol(api, "card-1")
    shop = purchase("shop-1", "card-1", [("tea-1", "tea", 1, "100.00")], at=PAST)
    assert (await api.call("POST", "/purchases", json=shop)).status_code == 201
    for n in range(2):
        made = await api.call(
            "POST", "/partners/cafe-nord/purchases", "partner", json=_buy(f"b{n}")
        )
        assert made.status_code == 201, made.text
    before = await snapshot(api.database)
    refused = await api.call("POST", "/partners/cafe-nord/purchases", "partner", json=_buy("b9"))
    assert _error(refused) == (429, "velocity_exceeded", "abuse.max_purchases_per_hour")
    assert refused.json()["error"]["params"] == {"limit": 3}
    other = await api.call("POST", "/partners/kino/purchases", "admin", json=_buy("k1"))
    assert _error(other) == (429, "velocity_exceeded", "abuse.max_purchases_per_hour")
    # the partner's purchases hold the shop's own purchases too
    again = purchase("shop-2", "card-1", [("tea-1", "tea", 1, "100.00")], at=PAST)
    assert _error(await api.call("POST", "/purchases", json=again))[1] == "velocity_exceeded"
    assert changed(before, await snapshot(api.database)) == []
    # a retry of an accepted purchase is answered as before, never refused
    retry = await api.call("POST", "/partners/cafe-nord/purchases", "partner", json=_buy("b0"))
    assert retry.status_code == 200, retry.text
    # another member is not held by this one's purchases
    await enrol(api, "card-2")
    theirs = await api.call(
        "POST", "/partners/cafe-nord/purchases", "partner", json=_buy("c1", card="card-2")
    )
    assert theirs.status_code == 201, theirs.text


async def test_partner_purchases_and_payments_are_held_by_the_programs_limits(api: Api) -> None:
    limits = 'limits:\n  max_purchase_total: "500.00"\n  max_points_per_purchase: 50\n'
    await apply(api, limits)
    await enrol(api, "card-1")
    assert (
        await api.call("POST", "/partners/kino/purchases", "admin", json=_buy("k1", "150.00"))
    ).json()["points"] == 50  # the limit itself is allowed
    before = await snapshot(api.database)
    total = await api.call("POST", "/partners/kino/purchases", "admin", json=_buy("k2", "500.01"))
    assert _error(total) == (422, "limit_exceeded", "amount")
    assert total.json()["error"]["params"]["limit"] == "500.00"
    # 260.00 at Cafe Nord (2 points per 10.00) would earn 52 points
    points = await api.call(
        "POST", "/partners/cafe-nord/purchases", "admin", json=_buy("c2", "260.00")
    )
    assert _error(points) == (422, "limit_exceeded", "amount")
    assert points.json()["error"]["params"] == {"points": 52, "limit": 50}
    pay = await api.call("POST", "/partners/kino/payments", "admin", json=_pay("p1", 51))
    assert _error(pay) == (422, "limit_exceeded", "points")
    assert pay.json()["error"]["params"] == {"points": 51, "limit": 50}
    assert changed(before, await snapshot(api.database)) == []
    paid = await api.call("POST", "/partners/kino/payments", "admin", json=_pay("p2", 50))
    assert paid.status_code == 201, paid.text


async def test_partner_payments_count_toward_the_hourly_redemption_limit(api: Api) -> None:
    await apply(api, "abuse:\n  max_redemptions_per_hour: 2\n")
    member = await enrol(api, "card-1")
    earned = await api.call("POST", "/partners/kino/purchases", "admin", json=_buy("k1", "900.00"))
    assert earned.json()["points"] == 300
    body = {"member_id": member, "reward_code": "DISC10", "idempotency_key": "r-1"}
    assert (await api.call("POST", "/redemptions", json=body)).status_code == 201
    first = await api.call("POST", "/partners/kino/payments", "admin", json=_pay("p1", 10))
    assert first.status_code == 201, first.text
    before = await snapshot(api.database)
    refused = await api.call("POST", "/partners/kino/payments", "admin", json=_pay("p2", 10))
    assert _error(refused) == (429, "velocity_exceeded", "abuse.max_redemptions_per_hour")
    # the partner's payment holds the shop's coupons too
    coupon = {**body, "idempotency_key": "r-2"}
    assert _error(await api.call("POST", "/redemptions", json=coupon))[1] == "velocity_exceeded"
    assert changed(before, await snapshot(api.database)) == []
    retry = await api.call("POST", "/partners/kino/payments", "admin", json=_pay("p1", 10))
    assert retry.status_code == 200, retry.text
    balance = (await api.call("GET", f"/members/{member}")).json()["points"]["available"]
    assert balance == 300 - 100 - 10


async def test_concurrent_payments_accept_exactly_the_limit(api: Api) -> None:
    await apply(api, "abuse:\n  max_redemptions_per_hour: 3\n")
    member = await enrol(api, "card-1")
    await api.call("POST", "/partners/kino/purchases", "admin", json=_buy("k1", "300.00"))
    bodies = [_pay(f"p{n}", 5) for n in range(8)]
    answers = await asyncio.gather(
        *(api.call("POST", "/partners/kino/payments", "admin", json=b) for b in bodies)
    )
    assert sorted(a.status_code for a in answers) == [201] * 3 + [429] * 5
    balance = (await api.call("GET", f"/members/{member}")).json()["points"]["available"]
    assert balance == 100 - 3 * 5
