"""Blocked members earn and spend nothing, on every path (docs/security.md, "Abuse controls"):
a purchase's points, a redemption, a coupon at checkout, a custom event, a campaign of
another trigger (a birthday), a referral's reward, a survey's and a review's points and
goodwill. A refused request changes no row at all; a path that goes on (the review is kept,
the survey answered, the referral closed) writes no point, lot, coupon or campaign use."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from patron.awards.adjust import adjust_points
from patron.kit.time import utcnow
from patron.members.errors import MemberBlockedError
from patron.programs.service import get_active_program
from patron.referrals.rewarding import run_referrals
from patron.worker.campaigns import run_date_campaigns
from tests.abuse.snapshot import changed, snapshot
from tests.abuse.test_velocity import tea
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.api.test_purchases import enrol
from tests.feedback.factories import NPS_SURVEY
from tests.referrals import helpers as referral_helpers

# what earning or spending writes: none of it may move for a blocked member
POINTS_TABLES = (
    "ledger_entries",
    "lots",
    "lot_movements",
    "accounts",
    "coupons",
    "reward_stocks",
    "campaign_awards",
    "campaign_counters",
    "campaign_member_usages",
    "campaign_applications",
)
BIRTHDAY = """
campaigns:
  - key: birthday
    name: {en: "Happy birthday"}
    window: {start: "2020-01-01", end: "2040-12-31"}
    trigger: birthday
    occasion: {days: 3}
    effect: {bonus_points: 300}
  - key: share
    name: {en: "Share"}
    window: {start: "2020-01-01", end: "2040-12-31"}
    trigger: event
    event: social_share
    effect: {bonus_points: 50}
"""


async def _funded_and_blocked(
    api: Api, external_id: str = "b-1", *, block: bool = True
) -> tuple[int, str]:
    """A member with 1,500 points and a coupon, blocked: (member id, coupon code)."""
    member = await enrol(api, external_id)
    assert (await api.call("POST", "/purchases", json=tea("fund", external_id, 10000))).is_success
    redeemed = await api.call(
        "POST", "/redemptions", json={"member_id": member["id"], "reward_code": "DISC10"}
    )
    assert redeemed.status_code == 201, redeemed.text
    if block:
        await _block(api, int(member["id"]))
    return int(member["id"]), str(redeemed.json()["coupon_code"])


async def _block(api: Api, member_id: int) -> None:
    blocked = await api.call("POST", f"/members/{member_id}/block", json={"reason": "fraud"})
    assert blocked.status_code == 200


async def _refused_changes_nothing(api: Api, method: str, path: str, **kwargs: Any) -> None:
    before = await snapshot(api.database)
    response = await api.call(method, path, **kwargs)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "member_blocked"
    assert changed(before, await snapshot(api.database)) == []


def _points_rows(found: dict[str, Any]) -> dict[str, Any]:
    return {name: found[name] for name in POINTS_TABLES}


async def test_a_purchase_earns_nothing(api: Api) -> None:
    await _funded_and_blocked(api)
    await _refused_changes_nothing(api, "POST", "/purchases", json=tea("more", "b-1"))
    batch = await api.call("POST", "/purchases/batch", json={"purchases": [tea("more", "b-1")]})
    assert batch.json()["results"][0]["error"]["code"] == "member_blocked", batch.text


async def test_a_redemption_spends_nothing(api: Api) -> None:
    member_id, _ = await _funded_and_blocked(api)
    body = {"member_id": member_id, "reward_code": "DISC10", "idempotency_key": "r-2"}
    await _refused_changes_nothing(api, "POST", "/redemptions", json=body)


async def test_a_coupon_is_not_consumed(api: Api) -> None:
    member_id, code = await _funded_and_blocked(api)
    body = {"member_id": member_id, "ref": "order-9"}
    await _refused_changes_nothing(api, "POST", f"/coupons/{code}/consume", json=body)
    await _refused_changes_nothing(api, "POST", f"/coupons/{code}/consume", json={})
    await api.call("POST", f"/members/{member_id}/unblock")
    used = await api.call("POST", f"/coupons/{code}/consume", json=body)
    assert (used.status_code, used.json()["status"]) == (200, "consumed")


async def test_a_custom_event_is_refused_and_not_recorded(api: Api) -> None:
    await api.call("PUT", "/program", content=referral_helpers.SEED_PROGRAM.read_text() + BIRTHDAY)
    await _funded_and_blocked(api)
    event = {
        "member_external_id": "b-1",
        "type": "social_share",
        "occurred_at": utcnow().isoformat(),
        "idempotency_key": "share-1",
        "attributes": {},
    }
    await _refused_changes_nothing(api, "POST", "/events", json=event)


async def test_a_birthday_campaign_gives_nothing(api: Api) -> None:
    await api.call("PUT", "/program", content=referral_helpers.SEED_PROGRAM.read_text() + BIRTHDAY)
    today = utcnow().date()
    born = date(1990, today.month, min(today.day, 28))
    for external_id in ("b-1", "ok"):
        response = await api.call(
            "POST", "/members", json={"external_id": external_id, "birth_date": born.isoformat()}
        )
        assert response.status_code == 201
    blocked = response.json()["id"] - 1
    await api.call("POST", f"/members/{blocked}/block", json={"reason": "fraud"})
    before = _points_rows(await snapshot(api.database))
    await run_date_campaigns(api.database, key="default", now=utcnow())
    after = _points_rows(await snapshot(api.database))
    awarded = [row for row in after["campaign_awards"] if row not in before["campaign_awards"]]
    assert [row[3] for row in awarded] == [str(blocked + 1)]  # only the active member's
    ledger = [row for row in after["ledger_entries"] if row not in before["ledger_entries"]]
    assert all(str(blocked) != row[1] for row in ledger)


async def test_a_referral_pays_nothing_to_a_blocked_side(api: Api) -> None:
    await referral_helpers.apply(api)
    anna = await referral_helpers.enrol(api, "anna", email="anna@example.org")
    ivan = await referral_helpers.enrol(
        api, "ivan", email="ivan@example.org", referral_code=anna["referral_code"]
    )
    now = utcnow()
    await referral_helpers.buy(api, ivan["id"], 2000, at=now - timedelta(hours=2))
    await run_referrals(api.database, key="default", now=now)
    await api.call("POST", f"/members/{anna['id']}/block", json={"reason": "fraud"})
    await run_referrals(api.database, key="default", now=now + timedelta(days=15))
    credits = await referral_helpers.referral_credits(api.database)
    assert sorted(credits) == [(ivan["id"], 100, "campaign"), (ivan["id"], 300, "referral")]
    assert all(member != anna["id"] for member, _, _ in credits)


async def test_a_survey_answer_and_a_review_earn_nothing(api: Api) -> None:
    program = referral_helpers.SEED_PROGRAM.read_text() + "\nreviews: {points: 40}\n"
    await api.call("PUT", "/program", content=program)
    assert (await api.call("POST", "/surveys", json=NPS_SURVEY)).status_code == 201
    member_id, _ = await _funded_and_blocked(api, block=False)
    invited = await api.call(  # invited before the block (a blocked member is not invited)
        "POST", "/surveys/nps/invitations", json={"member_ids": [member_id], "source_ref": "l1"}
    )
    token = invited.json()["invitations"][0]["token"]
    await _block(api, member_id)
    before = _points_rows(await snapshot(api.database))
    assert (await api.client.post(f"/s/{token}", data={"nps": "9"})).status_code == 200
    review = await api.call("POST", "/reviews", json={"member_id": member_id, "rating": 5})
    assert review.status_code == 201, review.text  # the review is kept: its points are not
    assert review.json()["points"] == 0
    assert _points_rows(await snapshot(api.database)) == before


async def test_goodwill_is_refused(api: Api) -> None:
    member_id, _ = await _funded_and_blocked(api)
    ticket = {
        "member_id": member_id,
        "channel": "email",
        "category": "delivery",
        "subject": "Late",
        "text": "Where is my order?",
    }
    created = await api.call("POST", "/tickets", json=ticket)
    assert created.status_code == 201, created.text
    body = {"points": 100, "reason": "Late delivery", "idempotency_key": "gw-1"}
    path = f"/tickets/{created.json()['id']}/goodwill"
    await _refused_changes_nothing(api, "POST", path, json=body)
    # a point adjustment (the console's): refused too
    before = await snapshot(api.database)
    with pytest.raises(MemberBlockedError):
        async with api.database.write() as session:
            await adjust_points(
                session,
                active=await get_active_program(session),
                member_id=member_id,
                points=100,
                reason="goodwill",
                key="adj-1",
                actor="test",
                now=utcnow(),
            )
    assert changed(before, await snapshot(api.database)) == []
