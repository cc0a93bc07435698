"""Fingerprints given with a batch of purchases feed the self-referral check like a single
purchase's; a match found after a referral was paid holds it for review (its reward stays),
an admin's rejection claws it back; a clawback takes back points and unused coupons (a used
coupon is recorded as such), and the KPIs count what it took back as given back. On both
databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from patron.kit.outbox import OutboxEvent
from patron.kit.time import utcnow
from patron.ledger.models import LedgerEntry
from patron.referrals.models import MemberFingerprint, ReferralStatus
from patron.referrals.rewarding import run_referrals
from patron.rewards.models import Coupon
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.referrals.helpers import apply, buy, enrol, event_count, referrals

# the seed program with the helpers' section: the referrer gets 500 + the campaign's 100, the
# friend 300 + 100 and a FREESHIP coupon (100 points): 1,100 points in all
COST = 1100


def _purchase(external_id: str, *, member: int | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "occurred_at": (utcnow() - timedelta(hours=1)).isoformat(),
        "currency": "RUB",
        "total": "100.00",
        "lines": [{"sku": "tea", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
        **fields,
    }
    if member is not None:
        body["member_id"] = member
    return body


async def _points(api: Api, member_id: int) -> int:
    """What the member holds of the referral: its own points and its campaigns', less what was
    taken back (the clawback's entries are of source ``referral``)."""
    async with api.database.read() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.member_id == member_id,
                LedgerEntry.source_type.in_(["referral", "campaign"]),
            )
        )
    return int(total or 0)


async def _payloads(api: Api, event_type: str) -> list[dict[str, Any]]:
    async with api.database.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.type == event_type)
            .order_by(OutboxEvent.id)
        )
        return [dict(row) for row in rows]


async def _coupon_of(api: Api, member_id: int) -> tuple[str, str]:
    """The code and status of the member's coupon."""
    async with api.database.read() as session:
        row = (
            await session.execute(
                select(Coupon.code, Coupon.status).where(Coupon.member_id == member_id)
            )
        ).one()
    return str(row[0]), str(row[1].value)


async def _kpis(api: Api) -> dict[str, Any]:
    response = await api.call("GET", "/referrals/kpis", "staff")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _paid_referral(api: Api) -> tuple[dict[str, Any], dict[str, Any], int]:
    """anna referred ivan; ivan's 2,000.00 purchase stood; both were paid. The purchase id."""
    await apply(api)
    anna = await enrol(api, "anna")
    ivan = await enrol(api, "ivan", referral_code=anna["referral_code"])
    now = utcnow()
    purchase = await buy(api, ivan["id"], 2000, at=now - timedelta(hours=2))
    await run_referrals(api.database, key="default", now=now)
    paid = await run_referrals(api.database, key="default", now=now + timedelta(days=15))
    assert paid["rewarded"] == 1
    assert (await _points(api, anna["id"]), await _points(api, ivan["id"])) == (600, 400)
    return anna, ivan, purchase


async def _share_a_device(api: Api, anna: dict[str, Any], ivan: dict[str, Any]) -> None:
    """ivan buys from a phone, then anna buys from the same phone."""
    own = _purchase("phone-ivan", member=ivan["id"], device_fingerprint="phone-1")
    assert (await api.call("POST", "/purchases", json=own)).status_code == 201
    assert (await referrals(api.database))[0].status is ReferralStatus.REWARDED
    hers = _purchase("phone-anna", member=anna["id"], device_fingerprint="phone-1")
    assert (await api.call("POST", "/purchases", json=hers)).status_code == 201


async def test_a_batch_takes_fingerprints_and_flags_as_a_single_purchase(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", payment_fingerprint="card-1")
    ivan = await enrol(api, "ivan", referral_code=anna["referral_code"])
    petr = await enrol(api, "petr", referral_code=anna["referral_code"])
    batch = {
        "purchases": [
            _purchase("b-1", member=ivan["id"], payment_fingerprint="card-1"),
            # refused alone (another currency): its fingerprint is not stored
            _purchase("b-2", member=petr["id"], payment_fingerprint="card-1", currency="EUR"),
            _purchase("b-3", member=petr["id"], device_fingerprint="petr-phone"),
            _purchase("b-4", total="100.00"),  # anonymous: nothing to check
        ]
    }
    first = await api.call("POST", "/purchases/batch", json=batch)
    assert first.status_code == 200, first.text
    assert [item["status"] for item in first.json()["results"]] == [201, 422, 201, 201]
    flagged, kept = await referrals(api.database)
    assert (flagged.status, flagged.flags) == (ReferralStatus.FLAGGED, ["self_referral"])
    assert kept.status is ReferralStatus.PENDING
    async with api.database.read() as session:
        stored = await session.execute(
            select(MemberFingerprint.member_id, MemberFingerprint.kind).order_by(
                MemberFingerprint.member_id, MemberFingerprint.kind
            )
        )
        assert [(m, k.value) for m, k in stored.all()] == [
            (anna["id"], "payment"),
            (ivan["id"], "payment"),
            (petr["id"], "device"),
        ]
    # a retry (with or without the fingerprints) records and flags nothing more
    again = await api.call("POST", "/purchases/batch", json=batch)
    assert [item["status"] for item in again.json()["results"]] == [200, 422, 200, 200]
    plain = {"purchases": [{k: v for k, v in batch["purchases"][0].items() if "finger" not in k}]}
    assert (await api.call("POST", "/purchases/batch", json=plain)).json()["results"][0][
        "status"
    ] == 200
    assert await event_count(api.database, "referrals.flagged") == 1
    # a malformed fingerprint refuses the whole body (422 naming it) and writes nothing
    bad = {"purchases": [_purchase("b-9", member=petr["id"], device_fingerprint="")]}
    refused = await api.call("POST", "/purchases/batch", json=bad)
    assert refused.status_code == 422, refused.text
    assert "device_fingerprint" in refused.json()["error"]["field"]


async def test_a_tills_batch_with_fingerprints_flags_too(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", device_fingerprint="phone-1")
    await enrol(api, "ivan", referral_code=anna["referral_code"])
    body = _purchase("till-b-1", member_external_id="ivan", device_fingerprint="phone-1")
    recorded = await api.call("POST", "/purchases/batch", "pos", json={"purchases": [body]})
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["results"][0]["status"] == 201
    [referral] = await referrals(api.database)
    assert (referral.status, referral.flags) == (ReferralStatus.FLAGGED, ["self_referral"])


async def test_a_match_after_payment_holds_it_and_a_rejection_claws_it_back(api: Api) -> None:
    anna, ivan, _ = await _paid_referral(api)
    await _share_a_device(api, anna, ivan)
    [referral] = await referrals(api.database)
    assert (referral.status, referral.flags) == (ReferralStatus.FLAGGED, ["self_referral"])
    assert referral.rewarded_at is not None
    assert referral.clawed_back_at is None
    [flagged] = await _payloads(api, "referrals.flagged")
    assert flagged["paid"] is True
    # held: the reward stays until an admin decides; the job takes nothing back
    later = utcnow() + timedelta(days=16)
    assert (await run_referrals(api.database, key="default", now=later))["clawed_back"] == 0
    assert (await _points(api, anna["id"]), await _points(api, ivan["id"])) == (600, 400)
    assert (await _kpis(api))["flagged"] == 1

    rejected = await api.call("POST", f"/referrals/{referral.id}/reject")
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert body["status"] == "rejected"
    assert body["clawed_back_points"] == COST
    code, status = await _coupon_of(api, ivan["id"])
    assert body["clawback_coupons"] == [{"code": code, "side": "referee", "outcome": "voided"}]
    assert status == "cancelled"
    assert (await _points(api, anna["id"]), await _points(api, ivan["id"])) == (0, 0)
    [clawed] = await _payloads(api, "referrals.clawed_back")
    assert (clawed["reason"], clawed["referrer_points"], clawed["referee_points"]) == (
        "rejected",
        600,
        400,
    )
    assert (clawed["coupons_voided"], clawed["coupons_used"]) == ([code], [])
    kpis = await _kpis(api)
    assert (kpis["cost_points"], kpis["clawed_back_points"], kpis["rejected"]) == (0, COST, 1)
    # decided once: again is 409, and nothing more is taken, by the job either
    assert (await api.call("POST", f"/referrals/{referral.id}/reject")).status_code == 409
    assert (await run_referrals(api.database, key="default", now=later))["clawed_back"] == 0
    assert await event_count(api.database, "referrals.clawed_back") == 1
    assert (await _points(api, anna["id"]), await _points(api, ivan["id"])) == (0, 0)
    verified = await api.call("GET", f"/members/{ivan['id']}", "staff")
    assert verified.status_code == 200


async def test_an_approved_paid_referral_keeps_its_reward_and_a_used_coupon_stays(
    api: Api,
) -> None:
    anna, ivan, purchase = await _paid_referral(api)
    await _share_a_device(api, anna, ivan)
    [referral] = await referrals(api.database)
    approved = await api.call("POST", f"/referrals/{referral.id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "rewarded"
    assert (await _points(api, anna["id"]), await _points(api, ivan["id"])) == (600, 400)
    assert (await _kpis(api))["cost_points"] == COST
    # approved: not checked again
    again = _purchase("phone-anna-2", member=anna["id"], device_fingerprint="phone-1")
    assert (await api.call("POST", "/purchases", json=again)).status_code == 201
    assert (await referrals(api.database))[0].status is ReferralStatus.REWARDED

    code, _ = await _coupon_of(api, ivan["id"])
    use = {"member_id": ivan["id"], "ref": "order-77"}
    assert (await api.call("POST", f"/coupons/{code}/consume", json=use)).status_code == 200
    full = await api.call("POST", f"/purchases/{purchase}/returns", json={"external_id": "r-1"})
    assert full.status_code == 201, full.text
    later = utcnow() + timedelta(days=17)
    assert (await run_referrals(api.database, key="default", now=later))["clawed_back"] == 1
    [referral] = await referrals(api.database)
    assert referral.clawed_back_points == COST - 100  # the used coupon is not taken back
    assert [c.model_dump() for c in referral.clawback_coupons] == [
        {"code": code, "side": "referee", "outcome": "used"}
    ]
    [clawed] = await _payloads(api, "referrals.clawed_back")
    assert (clawed["reason"], clawed["coupons_voided"], clawed["coupons_used"]) == (
        "returned",
        [],
        [code],
    )
    assert await _coupon_of(api, ivan["id"]) == (code, "consumed")
    kpis = await _kpis(api)
    assert (kpis["cost_points"], kpis["clawed_back_points"]) == (100, COST - 100)
    assert kpis["cost_per_acquired_member"] == 100


async def test_a_paid_referral_held_for_review_is_still_clawed_back_on_a_return(
    api: Api,
) -> None:
    anna, ivan, purchase = await _paid_referral(api)
    await _share_a_device(api, anna, ivan)
    full = await api.call("POST", f"/purchases/{purchase}/returns", json={"external_id": "r-1"})
    assert full.status_code == 201, full.text
    later = utcnow() + timedelta(days=17)
    assert (await run_referrals(api.database, key="default", now=later))["clawed_back"] == 1
    [referral] = await referrals(api.database)
    assert referral.status is ReferralStatus.FLAGGED
    assert referral.clawed_back_points == COST
    # the rejection then takes nothing more
    rejected = await api.call("POST", f"/referrals/{referral.id}/reject")
    assert rejected.json()["clawed_back_points"] == COST
    assert await event_count(api.database, "referrals.clawed_back") == 1
    assert (await _points(api, anna["id"]), await _points(api, ivan["id"])) == (0, 0)
