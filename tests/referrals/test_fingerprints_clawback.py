"""Fingerprints given with a purchase feed the self-referral check (an open referral whose
two sides now share a device or payment fingerprint is flagged), and a referral's points are
taken back once when its qualifying purchase is returned below the minimum after the reward.
On both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from patron.kit.outbox import OutboxEvent
from patron.kit.time import utcnow
from patron.ledger.models import LedgerEntry
from patron.purchases.models import Purchase
from patron.referrals.models import MemberFingerprint, ReferralStatus
from patron.referrals.rewarding import run_referrals
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.referrals.helpers import apply, buy, enrol, event_count, referrals


def _purchase(member_id: int, external_id: str, **fingerprints: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "member_id": member_id,
        "occurred_at": (utcnow() - timedelta(hours=1)).isoformat(),
        "currency": "RUB",
        "total": "100.00",
        "lines": [{"sku": "tea", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
        **fingerprints,
    }


async def _count(api: Api, model: Any) -> int:
    async with api.database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_referees_purchase_with_the_referrers_card_flags_the_referral(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", payment_fingerprint="card-1")
    ivan = await enrol(api, "ivan", referral_code=anna["referral_code"])
    petr = await enrol(api, "petr", referral_code=anna["referral_code"])
    assert [r.status for r in await referrals(api.database)] == [ReferralStatus.PENDING] * 2

    other = _purchase(ivan["id"], "o-0", payment_fingerprint="card-9", device_fingerprint="d-9")
    assert (await api.call("POST", "/purchases", json=other)).status_code == 201
    assert [r.status for r in await referrals(api.database)] == [ReferralStatus.PENDING] * 2

    body = _purchase(ivan["id"], "o-1", payment_fingerprint="card-1")
    first = await api.call("POST", "/purchases", json=body)
    assert first.status_code == 201, first.text
    flagged, untouched = await referrals(api.database)
    assert (flagged.status, flagged.flags) == (ReferralStatus.FLAGGED, ["self_referral"])
    assert untouched.status is ReferralStatus.PENDING  # petr's referral shares nothing
    assert await event_count(api.database, "referrals.flagged") == 1
    # the fingerprints are not part of the purchase's idempotency; a retry flags nothing more
    again = await api.call("POST", "/purchases", json=body)
    plain = {k: v for k, v in body.items() if k != "payment_fingerprint"}
    without = await api.call("POST", "/purchases", json=plain)
    assert (again.status_code, without.status_code) == (200, 200)
    assert await event_count(api.database, "referrals.flagged") == 1

    # the other way round: the referrer pays with a device the referee gave
    device = _purchase(anna["id"], "o-2", device_fingerprint="d-petr")
    own = _purchase(petr["id"], "o-3", device_fingerprint="d-petr")
    assert (await api.call("POST", "/purchases", json=own)).status_code == 201
    assert (await referrals(api.database))[1].status is ReferralStatus.PENDING
    assert (await api.call("POST", "/purchases", json=device)).status_code == 201
    assert (await referrals(api.database))[1].status is ReferralStatus.FLAGGED


async def test_an_approved_referral_is_not_checked_again(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", device_fingerprint="d-1")
    ivan = await enrol(api, "ivan", referral_code=anna["referral_code"], device_fingerprint="d-1")
    [referral] = await referrals(api.database)
    assert referral.status is ReferralStatus.FLAGGED
    approved = await api.call("POST", f"/referrals/{referral.id}/approve")
    assert approved.status_code == 200
    body = _purchase(ivan["id"], "o-1", device_fingerprint="d-1")
    assert (await api.call("POST", "/purchases", json=body)).status_code == 201
    assert (await referrals(api.database))[0].status is ReferralStatus.PENDING


async def test_malformed_fingerprints_are_refused_and_nothing_is_written(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna")
    for field, value in (
        ("payment_fingerprint", ""),
        ("device_fingerprint", "x" * 257),
        ("payment_fingerprint", 12345),
    ):
        body = _purchase(anna["id"], f"bad-{field}", **{field: value})
        response = await api.call("POST", "/purchases", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
    assert await _count(api, Purchase) == 0
    assert await _count(api, MemberFingerprint) == 0


async def _points_of(api: Api, member_id: int, source: str) -> int:
    async with api.database.read() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.member_id == member_id, LedgerEntry.source_type == source
            )
        )
    return int(total or 0)


async def test_a_return_after_the_reward_takes_the_points_back_once(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna")
    ivan = await enrol(api, "ivan", referral_code=anna["referral_code"])
    petr = await enrol(api, "petr", referral_code=anna["referral_code"])
    now = utcnow()
    returned = await buy(api, ivan["id"], 2000, at=now - timedelta(hours=2))
    kept = await buy(api, petr["id"], 2000, at=now - timedelta(hours=2))
    await run_referrals(api.database, key="default", now=now)
    paid = await run_referrals(api.database, key="default", now=now + timedelta(days=15))
    assert paid == {"qualified": 0, "rewarded": 2, "clawed_back": 0}
    assert await _points_of(api, anna["id"], "referral") == 1000
    assert await _points_of(api, ivan["id"], "referral") == 300

    # petr returns a little (2,000.00 less 500.00 still reaches 1,000.00): nothing taken back
    small = {"external_id": "r-small", "amount": "500.00"}
    assert (await api.call("POST", f"/purchases/{kept}/returns", json=small)).status_code == 201
    full = {"external_id": "r-full"}
    assert (await api.call("POST", f"/purchases/{returned}/returns", json=full)).status_code == 201
    later = now + timedelta(days=16)
    assert await run_referrals(api.database, key="default", now=later) == {
        "qualified": 0,
        "rewarded": 0,
        "clawed_back": 1,
    }
    # ivan's side (300 + the campaign's 100) and anna's for ivan (500 + 100) are taken back
    assert await _points_of(api, ivan["id"], "referral") == 300 - 300 - 100
    assert await _points_of(api, anna["id"], "referral") == 1000 - 500 - 100
    assert await _points_of(api, ivan["id"], "campaign") == 100
    clawed, standing = await referrals(api.database)
    assert clawed.status is ReferralStatus.REWARDED
    assert clawed.clawed_back_at is not None
    assert standing.clawed_back_at is None
    assert await event_count(api.database, "referrals.clawed_back") == 1
    async with api.database.read() as session:
        payload = await session.scalar(
            select(OutboxEvent.payload).where(OutboxEvent.type == "referrals.clawed_back")
        )
    assert payload is not None
    assert (payload["referrer_points"], payload["referee_points"]) == (600, 400)
    # again: nothing more
    again = await run_referrals(api.database, key="default", now=later + timedelta(days=1))
    assert again == {"qualified": 0, "rewarded": 0, "clawed_back": 0}
    assert await _points_of(api, anna["id"], "referral") == 400
    verified = await api.call("GET", f"/members/{anna['id']}", "staff")
    assert verified.status_code == 200


async def test_a_tills_purchase_with_fingerprints_takes_the_standard_route(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", device_fingerprint="phone-1")
    await enrol(api, "ivan", referral_code=anna["referral_code"])
    body = {k: v for k, v in _purchase(0, "till-1").items() if k != "member_id"}
    body |= {"member_external_id": "ivan", "device_fingerprint": "phone-1"}
    recorded = await api.call("POST", "/purchases", "pos", json=body)
    assert recorded.status_code == 201, recorded.text
    [referral] = await referrals(api.database)
    assert (referral.status, referral.flags) == (ReferralStatus.FLAGGED, ["self_referral"])
    again = await api.call("POST", "/purchases", "pos", json=body)
    assert (again.status_code, again.json()["id"]) == (200, recorded.json()["id"])
