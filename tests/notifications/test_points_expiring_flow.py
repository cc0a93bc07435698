"""From the daily job to the member and the shop: the job announces points about to expire
(``points.expiring``), the dispatcher runs every registered handler, the email handler queues
the ``points_expiring`` message for a member with email consent (and records the skip for one
without), the sender sends it, and a webhook endpoint subscribed to the type receives it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.notifications.models import Message
from patron.webhooks import delivery as webhook_delivery
from patron.webhooks import service as webhook_service
from patron.webhooks.addresses import ALLOW_PRIVATE_ENV
from patron.worker import registry
from patron.worker.daily import run_daily_jobs
from tests.notifications.conftest import NOW, Inbox, enrol, send
from tests.notifications.test_email_flow import _text
from tests.webhooks.receiver import Receiver, receiver

# NOW is 1 March 2026, 15:00 in Moscow; 10:00 UTC on 4 March is 13:00 there: 3 days ahead
EXPIRES_AT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with receiver() as running:
        yield running


async def _credit(database: Database, member_id: int, points: int) -> None:
    async with database.write() as session:
        await ledger_service.credit(
            session,
            member_id=member_id,
            amount=points,
            kind=EntryKind.EARN,
            idempotency_key=f"flow:{member_id}",
            source_type="purchase",
            source_id="P",
            now=NOW,
            expires_at=EXPIRES_AT,
        )


async def test_the_announcement_reaches_the_member_and_the_shop(
    database: Database, program_id: int, inbox: Inbox, server: Receiver
) -> None:
    anna = await enrol(database, program_id, external_id="anna")
    silent = await enrol(
        database, program_id, external_id="boris", email="boris@example.com", consent=False
    )
    await _credit(database, anna, 21)
    await _credit(database, silent, 7)
    async with database.write() as session:
        endpoint = await webhook_service.create_endpoint(
            session, url=server.url, events=["points.expiring"], description="shop", now=utcnow()
        )
    server.secret = endpoint.secret

    report = await run_daily_jobs(database, now=NOW)
    assert report.points_expiring == {"default": 2}
    dispatched = await dispatch_pending(database, registry.handlers())
    assert dispatched.failed == 0
    assert await send(database) == 1
    [(recipients, email)] = inbox.messages
    assert recipients == ["anna@example.com"]
    assert email["Subject"] == "Через 3 дня сгорает 21 балл"
    assert "4 марта 2026 г. (через 3 дня) сгорает 21 балл" in _text(email)
    async with database.read() as session:
        query = select(Message.member_id, Message.kind, Message.status)
        rows = [tuple(row) for row in await session.execute(query.order_by(Message.member_id))]
    assert rows == [
        (anna, "points_expiring", "sent"),
        (silent, "points_expiring", "skipped_no_consent"),
    ]

    assert await webhook_delivery.run_once(database, utcnow()) == 2
    got = {item.verified["data"]["member_id"]: item for item in server.received}
    assert all(item.ok for item in got.values())
    assert got[anna].verified["type"] == "points.expiring"
    assert got[anna].verified["data"] == {
        "member_id": anna,
        "points": 21,
        "expires_at": "2026-03-04T10:00:00Z",
        "days": 3,
        "external_id": "anna",
        "expires_on": "2026-03-04",
    }
    assert got[silent].verified["data"]["points"] == 7

    # the next day's run announces nothing again, so nobody hears of it twice
    again = await run_daily_jobs(database, now=NOW.replace(day=2))
    assert again.points_expiring == {"default": 0}
