"""Both sides of a referral are rewarded once, and only after the qualifying purchase has
stood through the return window (the seed program's 14 pending days)."""

from __future__ import annotations

from datetime import timedelta

from patron.kit.time import utcnow
from patron.referrals.models import ReferralStatus
from patron.referrals.rewarding import run_referrals
from patron.worker.daily import run_daily_jobs
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.referrals.helpers import (
    apply,
    buy,
    code_of,
    enrol,
    event_count,
    program_text,
    referral_credits,
    referrals,
)


async def test_both_sides_are_paid_once_after_the_return_window(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", email="anna@example.org")
    link = (await api.call("GET", f"/members/{anna['id']}/referral", "staff")).json()
    assert link["code"] == anna["referral_code"]
    assert link["link"] == f"https://shop.example/join?ref={anna['referral_code']}"
    ivan = await enrol(api, "ivan", email="ivan@example.org", referral_code=link["code"].lower())
    [referral] = await referrals(api.database)
    assert (referral.referrer_id, referral.referee_id) == (anna["id"], ivan["id"])
    assert (referral.status, referral.flags) == (ReferralStatus.PENDING, [])
    assert await event_count(api.database, "referrals.created") == 1

    now = utcnow()
    # a purchase below the minimum does not qualify; the next one does
    await buy(api, ivan["id"], 900, at=now - timedelta(hours=3))
    purchase_id = await buy(api, ivan["id"], 2000, at=now - timedelta(hours=2))
    assert await run_referrals(api.database, key="default", now=now) == {
        "qualified": 1,
        "rewarded": 0,
        "clawed_back": 0,
    }
    [referral] = await referrals(api.database)
    assert (referral.status, referral.purchase_id) == (ReferralStatus.QUALIFIED, purchase_id)
    assert referral.due_at is not None
    # the purchase's points unlock 14 days after it: not paid a day before
    assert await run_referrals(api.database, key="default", now=now + timedelta(days=13)) == {
        "qualified": 0,
        "rewarded": 0,
        "clawed_back": 0,
    }
    assert await referral_credits(api.database) == []

    report = await run_daily_jobs(api.database, now=now + timedelta(days=14))
    assert report.failures == []
    assert report.referrals == {"default": {"qualified": 0, "rewarded": 1, "clawed_back": 0}}
    credits = sorted(await referral_credits(api.database))
    assert credits == sorted(
        [
            (anna["id"], 500, "referral"),
            (anna["id"], 100, "campaign"),
            (ivan["id"], 300, "referral"),
            (ivan["id"], 100, "campaign"),
        ]
    )
    [referral] = await referrals(api.database)
    assert (referral.status, referral.referrer_points, referral.referee_points) == (
        ReferralStatus.REWARDED,
        600,
        400,
    )
    assert referral.cost_points == 600 + 400 + 100  # the FREESHIP coupon costs 100 points
    assert await event_count(api.database, "referrals.rewarded") == 1
    assert await event_count(api.database, "rewards.granted") == 1

    # again, and later: nothing more
    for days in (14, 30):
        again = await run_daily_jobs(api.database, now=now + timedelta(days=days))
        assert again.referrals == {"default": {"qualified": 0, "rewarded": 0, "clawed_back": 0}}
    assert len(await referral_credits(api.database)) == 4

    kpis = (await api.call("GET", "/referrals/kpis", "staff")).json()
    assert kpis == {
        "enrolled": 1,
        "pending": 0,
        "qualified": 1,
        "rewarded": 1,
        "flagged": 0,
        "rejected": 0,
        "qualification_rate": 1.0,
        "cost_points": 1100,
        "cost_per_acquired_member": 1100,
        "invited": 0,  # nobody opened a link at /join
        "clawed_back_points": 0,
    }
    mine = (await api.call("GET", f"/members/{anna['id']}/referral", "staff")).json()
    assert mine["referrals"]["rewarded"] == 1
    assert mine["points_earned"] == 600


async def test_a_purchase_returned_within_the_window_pays_nothing(api: Api) -> None:
    await apply(api, program_text(campaigns=""))
    anna = await enrol(api, "anna")
    ivan = await enrol(api, "ivan", referral_code=await code_of(api, anna["id"]))
    now = utcnow() - timedelta(days=40)  # the job runs as of days in the past
    purchase_id = await buy(api, ivan["id"], 1500, at=now - timedelta(hours=1))
    await run_referrals(api.database, key="default", now=now)
    refund = {"external_id": "ret-1", "amount": "600.00"}
    response = await api.call("POST", f"/purchases/{purchase_id}/returns", "pos", json=refund)
    assert response.status_code == 201, response.text
    paid = await run_referrals(api.database, key="default", now=now + timedelta(days=15))
    # 1,500 less 600 is below the 1,000 minimum: back to pending, nothing paid
    assert paid == {"qualified": 0, "rewarded": 0, "clawed_back": 0}
    [referral] = await referrals(api.database)
    assert (referral.status, referral.purchase_id) == (ReferralStatus.PENDING, None)
    assert await referral_credits(api.database) == []
    # a later purchase qualifies it again
    await buy(api, ivan["id"], 1000, at=now + timedelta(days=16))
    later = now + timedelta(days=16, hours=1)
    assert await run_referrals(api.database, key="default", now=later) == {
        "qualified": 1,
        "rewarded": 0,
        "clawed_back": 0,
    }
    assert await run_referrals(api.database, key="default", now=later + timedelta(days=14)) == {
        "qualified": 0,
        "rewarded": 1,
        "clawed_back": 0,
    }
    assert sorted(await referral_credits(api.database)) == sorted(
        [(anna["id"], 500, "referral"), (ivan["id"], 300, "referral")]
    )


async def test_a_program_without_a_referrals_section_records_referrals_and_pays_nothing(
    api: Api,
) -> None:
    anna = await enrol(api, "anna")
    ivan = await enrol(api, "ivan", referral_code=anna["referral_code"])
    now = utcnow()
    await buy(api, ivan["id"], 100, at=now - timedelta(hours=1))
    await run_referrals(api.database, key="default", now=now)
    assert await run_referrals(api.database, key="default", now=now + timedelta(days=15)) == {
        "qualified": 0,
        "rewarded": 1,
        "clawed_back": 0,
    }
    [referral] = await referrals(api.database)
    assert (referral.referrer_points, referral.referee_points, referral.cost_points) == (0, 0, 0)
    assert await referral_credits(api.database) == []
