"""Each side's own reward from referral campaigns (``referral_side``): a campaign with
``referral_side: referrer`` gives its points to the referrer only, one with ``referee`` to
the friend only, one without it to both; ``referral_side`` on another trigger is an invalid
program. On both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.errors import ProgramInvalidError
from patron.referrals.rewarding import run_referrals
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.referrals.helpers import REFERRALS, apply, buy, enrol, program_text, referral_credits

SIDES = """
campaigns:
  - key: for-referrers
    name: {en: "Referrers' bonus"}
    window: {start: "2026-01-01", end: "2030-12-31"}
    trigger: referral
    referral_side: referrer
    effect: {bonus_points: 250}
  - key: for-friends
    name: {en: "Friends' bonus"}
    window: {start: "2026-01-01", end: "2030-12-31"}
    trigger: referral
    referral_side: referee
    effect: {bonus_points: 40}
  - key: for-both
    name: {en: "Both sides' bonus"}
    window: {start: "2026-01-01", end: "2030-12-31"}
    trigger: referral
    effect: {bonus_points: 5}
"""


async def test_each_side_gets_its_own_campaign_points(api: Api) -> None:
    await apply(api, program_text(REFERRALS, SIDES))
    shown = await api.call("GET", "/campaigns/for-friends")
    assert (shown.status_code, shown.json()["referral_side"]) == (200, "referee")
    assert (await api.call("GET", "/campaigns/for-both")).json()["referral_side"] is None
    anna = await enrol(api, "anna")
    ivan = await enrol(api, "ivan", referral_code=anna["referral_code"])
    now = utcnow()
    await buy(api, ivan["id"], 2000, at=now - timedelta(hours=2))
    await run_referrals(api.database, key="default", now=now)
    paid = await run_referrals(api.database, key="default", now=now + timedelta(days=15))
    assert paid["rewarded"] == 1
    assert sorted(await referral_credits(api.database)) == sorted(
        [
            (anna["id"], 500, "referral"),
            (anna["id"], 250, "campaign"),
            (anna["id"], 5, "campaign"),
            (ivan["id"], 300, "referral"),
            (ivan["id"], 40, "campaign"),
            (ivan["id"], 5, "campaign"),
        ]
    )


async def test_referral_side_belongs_to_referral_campaigns_only(api: Api) -> None:
    wrong = SIDES.replace(
        "trigger: referral\n    referral_side: referee",
        "trigger: signup\n    referral_side: referee",
    )
    with pytest.raises(ProgramInvalidError) as refused:
        async with api.database.write() as session:
            await program_service.apply_program(
                session, text=program_text(REFERRALS, wrong), created_by="test"
            )
    assert any(
        "referral_side: only referral campaigns have one" in problem.format()
        for problem in refused.value.problems
    ), refused.value.problems
    bad_value = SIDES.replace("referral_side: referee", "referral_side: friend")
    with pytest.raises(ProgramInvalidError):
        async with api.database.write() as session:
            await program_service.apply_program(
                session, text=program_text(REFERRALS, bad_value), created_by="test"
            )
