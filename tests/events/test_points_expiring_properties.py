"""Property test against the real database: over random credits (pending or not, expiring at
random times), spends and daily runs at random times, each run of the job announces exactly
the member/date pairs with points left in its window that were not announced before, each
with the points left then in the active lots expiring that local date, and nothing is ever
announced twice."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from patron.kit.db import Database
from patron.kit.time import local, start_of_local_day
from patron.ledger import service as ledger_service
from patron.ledger.jobs import activate_due, expire_due
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.models import accounts, entries, expiry_notices, lots, movements
from tests.events.test_purchase_events import events, last_event_id
from tests.ledger.factories import lot_rows
from tests.purchases.bulk.factories import NOW, apply, enrol

ZONE = "Europe/Moscow"  # the seed program's
_ids = itertools.count()

credit_step = st.tuples(
    st.just("credit"),
    st.integers(0, 1),  # which member
    st.integers(1, 100),
    st.one_of(st.none(), st.integers(1, 48)),  # pending for hours
    st.integers(1, 24 * 12),  # expires hours after it becomes active
)
debit_step = st.tuples(st.just("debit"), st.integers(0, 1), st.integers(1, 150))
job_step = st.tuples(st.just("job"))
steps = st.lists(
    st.tuples(
        st.integers(0, 30), st.one_of(credit_step, credit_step, debit_step, job_step, job_step)
    ),
    min_size=4,
    max_size=30,
)


def expected(lots: list[dict[str, Any]], now: datetime, days: int) -> dict[tuple[int, date], int]:
    """The points to announce at ``now``, written out again from the definition."""
    today = local(now, ZONE).date()
    end = start_of_local_day(today + timedelta(days=days + 1), ZONE)
    found: dict[tuple[int, date], int] = defaultdict(int)
    for lot in lots:
        expires_at = lot["expires_at"]
        if (
            lot["remaining"] > 0
            and lot["is_active"]
            and not lot["is_expired"]
            and expires_at is not None
            and now < expires_at < end
        ):
            found[(lot["member_id"], local(expires_at, ZONE).date())] += lot["remaining"]
    return dict(found)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(notice_days=st.integers(1, 10), sequence=steps)
async def test_announcements_equal_the_points_left_and_never_repeat(
    database: Database, notice_days: int, sequence: list[tuple[int, tuple[Any, ...]]]
) -> None:
    async with database.write() as session:  # the lots of the examples before
        for table in (movements, expiry_notices, lots, entries, accounts):
            await session.execute(delete(table))
    program_id = await apply(database, "main")
    names = [f"prop-{next(_ids)}" for _ in range(2)]
    ids = await enrol(database, program_id, names)
    members = [ids[name] for name in names]
    start = await last_event_id(database)
    announced: dict[tuple[int, date], int] = {}
    now = NOW
    for hours, action in sequence:
        now += timedelta(hours=hours)
        if action[0] == "credit":
            _, which, amount, pending, expiry = action
            pending_until = now + timedelta(hours=pending) if pending else None
            expires_at = (pending_until or now) + timedelta(hours=expiry)
            async with database.write() as session:
                await ledger_service.credit(
                    session,
                    member_id=members[which],
                    amount=amount,
                    kind=EntryKind.EARN,
                    idempotency_key=f"prop:{next(_ids)}",
                    source_type="purchase",
                    source_id="P",
                    now=now,
                    pending_until=pending_until,
                    expires_at=expires_at,
                )
        elif action[0] == "debit":
            _, which, amount = action
            async with database.write() as session:
                await ledger_service.debit(
                    session,
                    member_id=members[which],
                    amount=amount,
                    kind=EntryKind.REDEEM,
                    idempotency_key=f"prop:{next(_ids)}",
                    source_type="reward",
                    source_id="R",
                    now=now,
                    on_shortfall=ShortfallPolicy.CAP,
                )
        else:
            await _job(database, program_id, members, names, notice_days, now, announced)
    for _ in range(14):  # then daily runs, until every lot has been in the window
        now += timedelta(days=1)
        await _job(database, program_id, members, names, notice_days, now, announced)
    emitted = [
        (member_id, payload["expires_on"])
        for name, _, member_id, payload in await events(database, start)
        if name == "points.expiring"
    ]
    assert len(emitted) == len(set(emitted)) == len(announced)


async def _job(
    database: Database,
    program_id: int,
    members: list[int],
    names: list[str],
    notice_days: int,
    now: datetime,
    announced: dict[tuple[int, date], int],
) -> None:
    """The daily job's ledger steps at ``now``; the announcement checked against the lots."""
    async with database.write() as session:
        await activate_due(session, now=now)
    async with database.write() as session:
        await expire_due(session, now=now)
    before = await last_event_id(database)
    async with database.write() as session:
        rows = [row for m in members for row in await lot_rows(session, m)]
        count = await ledger_service.announce_expiring(
            session, program_id=program_id, timezone=ZONE, notice_days=notice_days, now=now
        )
    want = {
        key: points
        for key, points in expected(rows, now, notice_days).items()
        if key not in announced
    }
    today = local(now, ZONE).date()
    got: dict[tuple[int, date], int] = {}
    for name, _, member_id, data in await events(database, before):
        assert name == "points.expiring"
        assert member_id is not None
        key = (member_id, date.fromisoformat(data["expires_on"]))
        assert key not in got
        got[key] = data["points"]
        assert data["days"] == (key[1] - today).days
        assert 0 <= data["days"] <= notice_days
        assert data["external_id"] == names[members.index(member_id)]
    assert got == want
    assert count == len(got)
    announced.update(got)
