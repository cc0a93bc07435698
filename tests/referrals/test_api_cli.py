"""The referral fields of an enrolment are validated before anything is written; the list,
the KPIs and the review through ``patron referrals``; the member's export holds the
referrals and erasure removes the fingerprints."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.members.models import Member
from patron.referrals.models import MemberFingerprint
from patron.referrals.rewarding import run_referrals
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.referrals.helpers import apply, buy, enrol, event_count, referrals

runner = CliRunner()


async def _patron(database: Database, *arguments: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", database.url])


async def _count(database: Database, model: Any) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_unknown_code_is_refused_and_nothing_is_written(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna")
    await api.call("POST", f"/members/{anna['id']}/block", json={"reason": "fraud"})
    for code in ("ZZZZZZZZ", anna["referral_code"]):  # unknown; a blocked member's
        body = {"external_id": "ivan", "referral_code": code, "device_fingerprint": "d"}
        response = await api.call("POST", "/members", "pos", json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("referral_code_unknown", "referral_code")
    assert await _count(api.database, Member) == 1
    assert await _count(api.database, MemberFingerprint) == 0
    assert await event_count(api.database, "members.enrolled") == 1


async def test_malformed_referral_fields_are_validation_errors(api: Api) -> None:
    for field, value in (
        ("referral_code", "no spaces"),
        ("referral_code", "abc"),
        ("referral_code", 12345678),
        ("device_fingerprint", ""),
        ("payment_fingerprint", "x" * 257),
    ):
        body = {"external_id": "ivan", field: value}
        response = await api.call("POST", "/members", "pos", json=body)
        assert response.status_code == 422, (field, value, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    bad = await api.call("GET", "/referrals", "staff", params={"status": "paid"})
    assert bad.status_code == 422
    assert await _count(api.database, Member) == 0


async def test_a_retried_enrolment_records_one_referral(api: Api) -> None:
    anna = await enrol(api, "anna")
    body = {"referral_code": anna["referral_code"], "device_fingerprint": "dev-9"}
    first = await enrol(api, "ivan", **body)
    again = await enrol(api, "ivan", **body)
    assert again["id"] == first["id"]
    assert [r.flags for r in await referrals(api.database)] == [[]]
    assert await event_count(api.database, "referrals.created") == 1
    assert await _count(api.database, MemberFingerprint) == 1


async def test_the_cli_lists_reviews_and_counts(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", email="a@example.org")
    good = await enrol(api, "ivan", referral_code=anna["referral_code"])
    await enrol(api, "olga", email="a@example.org", referral_code=anna["referral_code"])
    base = utcnow() - timedelta(days=30)
    await buy(api, good["id"], 5000, at=base)
    await run_referrals(api.database, key="default", now=base + timedelta(days=20))

    listed = await _patron(api.database, "referrals", "list", "--status", "flagged", "--json")
    assert listed.exit_code == 0, listed.output
    [flagged] = json.loads(listed.stdout)["items"]
    assert flagged["flags"] == ["self_referral"]
    text = await _patron(api.database, "referrals", "list")
    assert "rewarded" in text.stdout
    assert "flags: self_referral" in text.stdout

    rejected = await _patron(api.database, "referrals", "reject", str(flagged["id"]), "--json")
    assert rejected.exit_code == 0, rejected.output
    assert json.loads(rejected.stdout)["status"] == "rejected"
    again = await _patron(api.database, "referrals", "approve", str(flagged["id"]))
    assert again.exit_code == 1
    assert "referral_not_flagged" in again.output
    audit = (await api.call("GET", "/audit")).json()["items"]
    assert ("cli", "referrals.reject") in {(row["actor"], row["action"]) for row in audit}

    kpis = await _patron(api.database, "referrals", "kpis", "--json")
    assert json.loads(kpis.stdout) == {
        "enrolled": 2,
        "pending": 0,
        "qualified": 1,
        "rewarded": 1,
        "flagged": 0,
        "rejected": 1,
        "qualification_rate": 0.5,
        "cost_points": 1100,
        "cost_per_acquired_member": 1100,
        "invited": 0,  # nobody opened a link at /join
        "clawed_back_points": 0,
    }
    shown = await _patron(api.database, "referrals", "kpis")
    assert "1100 points, 1100 per acquired member" in shown.stdout
    assert "invited    0\n" in shown.stdout


async def test_export_holds_the_referrals_and_erasure_drops_the_fingerprints(api: Api) -> None:
    await apply(api)
    anna = await enrol(api, "anna", device_fingerprint="dev-a")
    ivan = await enrol(api, "ivan", referral_code=anna["referral_code"], payment_fingerprint="c")
    for member, side in ((anna, "referrer_id"), (ivan, "referee_id")):
        body = (await api.call("GET", f"/members/{member['id']}/export")).json()
        [referral] = body["referrals"]
        assert referral[side] == member["id"]
        [fingerprint] = body["fingerprints"]
        assert fingerprint["member_id"] == member["id"]
        assert len(fingerprint["digest"]) == 64
    erased = await api.call("POST", f"/members/{ivan['id']}/erase")
    assert erased.status_code == 200, erased.text
    body = (await api.call("GET", f"/members/{ivan['id']}/export")).json()
    assert body["fingerprints"] == []
    assert len(body["referrals"]) == 1
    assert await _count(api.database, MemberFingerprint) == 1
