"""Velocity limits per member (docs/security.md, "Abuse controls"): purchases and redemptions
per hour, refused with 429 ``velocity_exceeded`` naming the setting, changing nothing; exact
under races on SQLite and PostgreSQL; a retry of an accepted purchase is not counted twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from patron.kit.db import Database
from patron.members.errors import VelocityExceededError
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.models import Purchase
from patron.purchases.schemas import PurchaseCreate
from patron.rewards.redeem import redeem
from tests.abuse.snapshot import changed, snapshot
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.api.test_purchases import enrol, purchase
from tests.conftest import SEED_PROGRAM
from tests.purchases.bulk.factories import apply
from tests.purchases.bulk.factories import enrol as enrol_many

LIMIT = 4
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
PAST = (datetime.now(UTC) - timedelta(days=20)).replace(microsecond=0).isoformat()  # spendable


def program(settings: str) -> str:
    return SEED_PROGRAM.read_text() + "\nabuse:\n" + settings


def tea(external_id: str, member: str = "v-1", rubles: int = 1000) -> dict[str, object]:
    return purchase(external_id, member, [("tea-1", "tea", 1, f"{rubles}.00")], at=PAST)


async def _purchases(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Purchase)) or 0)


async def test_the_purchase_past_the_limit_is_refused_and_changes_nothing(api: Api) -> None:
    await api.call("PUT", "/program", content=program(f"  max_purchases_per_hour: {LIMIT}\n"))
    member = await enrol(api, "v-1")
    for n in range(LIMIT):
        response = await api.call("POST", "/purchases", json=tea(f"p-{n}"))
        assert response.status_code == 201, response.text
    before = await snapshot(api.database)
    refused = await api.call("POST", "/purchases", json=tea("p-over"))
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("velocity_exceeded", "abuse.max_purchases_per_hour")
    assert changed(before, await snapshot(api.database)) == []
    # a retry of an accepted purchase is answered as before, never refused nor counted
    again = await api.call("POST", "/purchases", json=tea("p-0"))
    assert again.status_code == 200, again.text
    conflict = await api.call("POST", "/purchases", json=tea("p-1", rubles=2000))
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    # another member is not held by this one's purchases; a purchase without a member neither
    await enrol(api, "v-2")
    assert (await api.call("POST", "/purchases", json=tea("q-0", "v-2"))).status_code == 201
    anonymous = purchase("anon", None, [("tea-1", "tea", 1, "10.00")])
    assert (await api.call("POST", "/purchases", json=anonymous)).status_code == 201
    points = (await api.call("GET", f"/members/{member['id']}")).json()["points"]
    assert points["available"] == LIMIT * 100


async def test_retries_do_not_use_the_limit_up(api: Api) -> None:
    await api.call("PUT", "/program", content=program("  max_purchases_per_hour: 2\n"))
    await enrol(api, "v-1")
    bodies = [tea("r-0")] * 5 + [tea("r-1")]
    answers = await asyncio.gather(*(api.call("POST", "/purchases", json=b) for b in bodies))
    assert sorted(a.status_code for a in answers) == [200] * 4 + [201] * 2
    assert await _purchases(api.database) == 2
    third = await api.call("POST", "/purchases", json=tea("r-2"))
    assert third.json()["error"]["code"] == "velocity_exceeded"


async def test_concurrent_purchases_through_the_api_accept_exactly_the_limit(api: Api) -> None:
    await api.call("PUT", "/program", content=program(f"  max_purchases_per_hour: {LIMIT}\n"))
    await enrol(api, "v-1")
    bodies = [tea(f"c-{n}") for n in range(LIMIT + 5)]
    answers = await asyncio.gather(*(api.call("POST", "/purchases", json=b) for b in bodies))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * LIMIT + [429] * 5, [a.text for a in answers]
    assert await _purchases(api.database) == LIMIT


@pytest.fixture
async def wide_database(database: Database) -> AsyncIterator[Database]:
    """The test database with a pool wide enough for the purchases to really overlap."""
    wide = Database(database.url, pool_size=25)
    yield wide
    await wide.dispose()


async def test_concurrent_units_of_work_accept_exactly_the_limit(wide_database: Database) -> None:
    """N + 5 purchases of one member, each in its own unit of work (on PostgreSQL, its own
    connection and transaction): exactly N are recorded."""
    await apply(wide_database, "velocity", program(f"  max_purchases_per_hour: {LIMIT}\n"))
    async with wide_database.read() as session:
        active = await program_service.get_active_program(session, key="velocity")
    await enrol_many(wide_database, active.program_id, ["one"])

    async def record(n: int) -> str:
        data = PurchaseCreate.model_validate(
            {**tea(f"w-{n}", "one"), "occurred_at": (NOW - timedelta(days=1)).isoformat()}
        )

        async def work(session):  # type: ignore[no-untyped-def]
            await record_purchase(session, active=active, data=data, now=NOW)

        try:
            await wide_database.write_again_on_deadlock(work)
        except VelocityExceededError:
            return "refused"
        return "recorded"

    outcomes = await asyncio.gather(*(record(n) for n in range(LIMIT + 5)))
    assert sorted(outcomes) == ["recorded"] * LIMIT + ["refused"] * 5
    assert await _purchases(wide_database) == LIMIT
    # an hour later the window has moved on
    later = PurchaseCreate.model_validate({**tea("w-later", "one")})
    async with wide_database.write() as session:
        recorded = await record_purchase(
            session, active=active, data=later, now=NOW + timedelta(hours=1, seconds=1)
        )
    assert recorded.created


async def test_redemptions_past_the_limit_are_refused_and_change_nothing(api: Api) -> None:
    await api.call("PUT", "/program", content=program("  max_redemptions_per_hour: 2\n"))
    member = await enrol(api, "v-1")
    await api.call("POST", "/purchases", json=tea("fund", rubles=10000))  # 1,000 points

    def body(key: str) -> dict[str, object]:
        return {"member_id": member["id"], "reward_code": "DISC10", "idempotency_key": key}

    answers = await asyncio.gather(
        *(api.call("POST", "/redemptions", json=body(f"k-{n}")) for n in range(2 + 5))
    )
    assert sorted(a.status_code for a in answers) == [201] * 2 + [429] * 5
    refused = next(a for a in answers if a.status_code == 429).json()["error"]
    assert (refused["code"], refused["field"]) == (
        "velocity_exceeded",
        "abuse.max_redemptions_per_hour",
    )
    before = await snapshot(api.database)
    again = await api.call("POST", "/redemptions", json=body("k-new"))
    assert again.status_code == 429
    assert changed(before, await snapshot(api.database)) == []
    # a redemption accepted before is replayed, never refused
    first = next(n for n, a in enumerate(answers) if a.status_code == 201)
    replay = await api.call("POST", "/redemptions", json=body(f"k-{first}"))
    assert replay.status_code in (200, 201), replay.text
    assert replay.json()["replayed"] is True
    points = (await api.call("GET", f"/members/{member['id']}")).json()["points"]
    assert (points["available"], points["redeemed"]) == (1300, 200)  # 1,000 base + 500 big basket


async def test_redemption_limit_counts_one_unit_of_work_at_a_time(
    wide_database: Database,
) -> None:
    await apply(wide_database, "velocity", program("  max_redemptions_per_hour: 3\n"))
    async with wide_database.read() as session:
        active = await program_service.get_active_program(session, key="velocity")
    [member_id] = (await enrol_many(wide_database, active.program_id, ["one"])).values()
    async with wide_database.write() as session:
        data = PurchaseCreate.model_validate(
            {**tea("fund", "one", 10000), "occurred_at": (NOW - timedelta(days=20)).isoformat()}
        )
        await record_purchase(session, active=active, data=data, now=NOW - timedelta(days=20))

    async def one(n: int) -> str:
        async def work(session):  # type: ignore[no-untyped-def]
            await redeem(
                session,
                active=active,
                member_id=member_id,
                reward_code="DISC10",
                idempotency_key=f"race-{n}",
                now=NOW,
            )

        try:
            await wide_database.write_again_on_deadlock(work)
        except VelocityExceededError:
            return "refused"
        return "redeemed"

    outcomes = await asyncio.gather(*(one(n) for n in range(3 + 5)))
    assert sorted(outcomes) == ["redeemed"] * 3 + ["refused"] * 5
