"""Concurrent runs of the referrals step pay each referral once, on SQLite and PostgreSQL:
ten runs at once over five due referrals credit each side once, with the section's points
and the referral campaign's, and emit one ``referrals.rewarded`` per referral."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.ledger.verify import verify
from patron.referrals.models import ReferralStatus
from patron.referrals.rewarding import run_referrals
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.referrals.helpers import apply, buy, enrol, event_count, referral_credits, referrals

RUNS = 10
FRIENDS = 5


@pytest.fixture
async def wide_database(database: Database) -> AsyncIterator[Database]:
    """The test database with a pool wide enough for the runs to really overlap."""
    wide = Database(database.url, pool_size=RUNS + 2)
    yield wide
    await wide.dispose()


async def test_concurrent_runs_pay_each_referral_once(api: Api, wide_database: Database) -> None:
    await apply(api)
    anna = await enrol(api, "anna")
    base = utcnow() - timedelta(days=30)
    friends = []
    for n in range(FRIENDS):
        friend = await enrol(api, f"friend-{n}")
        friends.append(friend)
    # referred by whoever enrolled before, so no velocity flag and one referrer each
    referrers = [anna, *friends[:-1]]
    for n, referrer in enumerate(referrers):
        await enrol(api, f"new-{n}", referral_code=referrer["referral_code"])
    newcomers = [r.referee_id for r in await referrals(api.database)]
    for member_id in newcomers:
        await buy(api, member_id, 1500, at=base)
    runs = [
        run_referrals(wide_database, key="default", now=base + timedelta(days=20))
        for _ in range(RUNS)
    ]
    reports = await asyncio.gather(*runs)
    assert sum(report["rewarded"] for report in reports) == FRIENDS
    assert sum(report["qualified"] for report in reports) == FRIENDS
    done = await referrals(api.database)
    assert [r.status for r in done] == [ReferralStatus.REWARDED] * FRIENDS
    credits = Counter(
        (member, source) for member, _, source in await referral_credits(api.database)
    )
    sides = [r.referrer_id for r in done] + [r.referee_id for r in done]
    assert credits == Counter(
        {(member, source): 1 for member in sides for source in ("referral", "campaign")}
    )
    assert await event_count(api.database, "referrals.rewarded") == FRIENDS
    assert await event_count(api.database, "referrals.qualified") == FRIENDS
    async with api.database.read() as session:
        assert await verify(session, now=utcnow()) == []
