"""The abuse checks flag a referral, a flagged referral is held (never paid) until an admin
approves it, and a rejected one is never paid; the review is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from patron.kit.time import utcnow
from patron.referrals.models import ReferralStatus
from patron.referrals.rewarding import run_referrals
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.api.paging import assert_each_once
from tests.referrals.helpers import (
    apply,
    buy,
    enrol,
    event_count,
    program_text,
    referral_credits,
    referrals,
)


async def _flags(api: Api, referrer: dict[str, Any], **referee: Any) -> list[str]:
    await enrol(api, "friend", referral_code=referrer["referral_code"], **referee)
    [referral] = await referrals(api.database)
    return referral.flags


@pytest.mark.parametrize(
    ("referrer", "referee"),
    [
        ({"email": "anna@example.org"}, {"email": "anna@example.org"}),
        ({"email": "anna@example.org"}, {"email": "anna@EXAMPLE.org"}),
        ({"phone": "+48601000001"}, {"phone": "+48 601 000 001"}),
        ({"device_fingerprint": "dev-1"}, {"device_fingerprint": "dev-1"}),
        ({"payment_fingerprint": "card-1"}, {"payment_fingerprint": "card-1"}),
    ],
    ids=["email", "email-case", "phone", "device", "payment"],
)
async def test_self_referral_is_flagged(
    api: Api, referrer: dict[str, Any], referee: dict[str, Any]
) -> None:
    await apply(api)
    anna = await enrol(api, "anna", **referrer)
    assert await _flags(api, anna, **referee) == ["self_referral"]
    assert await event_count(api.database, "referrals.flagged") == 1


async def test_a_device_of_another_kind_is_not_a_match(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", device_fingerprint="same")
    assert await _flags(api, anna, payment_fingerprint="same") == []


async def test_a_member_replaying_its_own_enrolment_with_its_own_code_is_flagged(
    api: Api,
) -> None:
    await apply(api)
    anna = await enrol(api, "anna")
    again = await enrol(api, "anna", referral_code=anna["referral_code"])
    assert again["id"] == anna["id"]
    [referral] = await referrals(api.database)
    assert referral.flags == ["self_referral", "referee_not_new"]


async def test_velocity_flags_referrals_beyond_the_daily_limit(api: Api) -> None:
    await apply(api)  # max_per_day: 3
    anna = await enrol(api, "anna")
    for n in range(5):
        await enrol(api, f"friend-{n}", referral_code=anna["referral_code"])
    assert [r.flags for r in await referrals(api.database)] == [
        [],
        [],
        [],
        ["velocity"],
        ["velocity"],
    ]


async def test_a_referee_who_is_not_new_is_flagged(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna")
    # a member already enrolled, enrolled again with a code
    ivan = await enrol(api, "ivan")
    await buy(api, ivan["id"], 500)
    await enrol(api, "ivan", referral_code=anna["referral_code"])
    # another member already has the new member's email
    await enrol(api, "olga-old", email="olga@example.org")
    await enrol(api, "olga-new", email="olga@example.org", referral_code=anna["referral_code"])
    assert [r.flags for r in await referrals(api.database)] == [
        ["referee_not_new"],
        ["referee_not_new"],
    ]


async def test_a_flagged_referral_is_held_until_approved(api: Api) -> None:
    await apply(api, program_text(campaigns=""))
    anna = await enrol(api, "anna", email="anna@example.org")
    ivan = await enrol(api, "ivan", email="anna@example.org", referral_code=anna["referral_code"])
    olga = await enrol(api, "olga", email="anna@example.org", referral_code=anna["referral_code"])
    now = utcnow() - timedelta(days=30)
    for member in (ivan, olga):
        await buy(api, member["id"], 2000, at=now)
    # the window passes: flagged referrals are neither qualified nor paid
    for days in (1, 20):
        paid = await run_referrals(api.database, key="default", now=now + timedelta(days=days))
        assert paid == {"qualified": 0, "rewarded": 0, "clawed_back": 0}
    assert await referral_credits(api.database) == []
    flagged = (await api.call("GET", "/referrals", "staff", params={"status": "flagged"})).json()
    ids = [item["id"] for item in flagged["items"]]
    assert len(ids) == 2
    assert flagged["next_after"] is None

    async def get(params: dict[str, Any]) -> httpx.Response:
        return await api.call("GET", "/referrals", "staff", params={"status": "flagged"} | params)

    assert await assert_each_once(get) == ids

    approved = await api.call("POST", f"/referrals/{ids[0]}/approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["review"]) == ("pending", "approved")
    rejected = await api.call("POST", f"/referrals/{ids[1]}/reject")
    assert (rejected.json()["status"], rejected.json()["review"]) == ("rejected", "rejected")
    for decided in ids:
        for verb in ("approve", "reject"):
            again = await api.call("POST", f"/referrals/{decided}/{verb}")
            assert again.status_code == 409
            assert again.json()["error"]["code"] == "referral_not_flagged"
    missing = await api.call("POST", "/referrals/999999/approve")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "referral_not_found")

    # the approved one qualifies and, its window long past, is paid in the same run
    later = now + timedelta(days=21)
    assert await run_referrals(api.database, key="default", now=later) == {
        "qualified": 1,
        "rewarded": 1,
        "clawed_back": 0,
    }
    assert sorted(await referral_credits(api.database)) == sorted(
        [(anna["id"], 500, "referral"), (ivan["id"], 300, "referral")]
    )
    statuses = [r.status for r in await referrals(api.database)]
    assert statuses == [ReferralStatus.REWARDED, ReferralStatus.REJECTED]

    audit = (await api.call("GET", "/audit")).json()["items"]
    reviews = sorted(
        (row["action"], row["target"]) for row in audit if "referrals." in row["action"]
    )
    assert reviews == sorted(
        [("referrals.approve", f"referral:{ids[0]}"), ("referrals.reject", f"referral:{ids[1]}")]
    )
