"""End to end: an event emitted in a unit of work is dispatched to the webhook handler, which
queues a delivery; the poller sends it to a real local server that verifies it with the
``standardwebhooks`` package; failures are retried for three days, logged and end in a
disabled endpoint with a notice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import DomainEvent, EventEnvelope, OutboxEvent, OutboxHandlerRun, emit
from patron.kit.time import utcnow
from patron.webhooks import delivery as webhook_delivery
from patron.webhooks import schemas
from patron.webhooks import service as webhook_service
from patron.webhooks.addresses import ALLOW_PRIVATE_ENV
from patron.webhooks.handlers import HANDLER_NAME, queue_many
from patron.webhooks.models import WebhookDelivery
from patron.worker import registry
from tests.webhooks.receiver import Receiver, receiver


class TiersChanged(DomainEvent):
    type: ClassVar[str] = "tiers.changed"
    member_id: int
    from_tier: str | None
    to_tier: str | None
    direction: str
    reason: str


class MembersEnrolled(DomainEvent):
    type: ClassVar[str] = "members.enrolled"
    member_id: int
    external_id: str


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with receiver() as running:
        yield running


async def _endpoint(
    database: Database, server: Receiver, events: list[str]
) -> schemas.WebhookCreated:
    async with database.write() as session:
        created = await webhook_service.create_endpoint(
            session, url=server.url, events=events, description="shop", now=utcnow()
        )
    server.secret = created.secret
    return created


async def _emit_tier_change(database: Database, member_id: int = 7) -> None:
    async with database.write() as session:
        event = TiersChanged(
            member_id=member_id, from_tier=None, to_tier="bronze", direction="up", reason="points"
        )
        await emit(session, event, program_id=1)


async def _deliveries(database: Database, webhook_id: int) -> list[schemas.Delivery]:
    async with database.read() as session:
        page = await webhook_service.list_deliveries(session, webhook_id, limit=200)
    return page.items


async def test_a_tier_change_reaches_the_server_signed(
    database: Database, server: Receiver
) -> None:
    webhook = await _endpoint(database, server, ["tiers.changed"])
    other = await _endpoint(database, server, ["members.enrolled"])
    server.secret = webhook.secret
    assert webhook.secret.startswith("whsec_")
    await _emit_tier_change(database)
    report = await dispatch_pending(database, registry.handlers())
    assert (report.events, report.failed) == (1, 0)
    assert await _deliveries(database, other.id) == []
    sent = await webhook_delivery.run_once(database, utcnow())
    assert sent == 1
    assert len(server.received) == 1
    got = server.received[0]
    assert got.ok, got.verified
    assert got.verified["type"] == "tiers.changed"
    assert got.verified["data"] == {
        "member_id": 7,
        "from_tier": None,
        "to_tier": "bronze",
        "direction": "up",
        "reason": "points",
    }
    assert datetime.fromisoformat(got.verified["timestamp"]) <= utcnow()
    assert got.headers["webhook-id"].startswith("evt_")
    assert got.headers["content-type"] == "application/json"
    (item,) = await _deliveries(database, webhook.id)
    assert (item.status, item.webhook_id, item.response_code) == (
        "delivered",
        got.headers["webhook-id"],
        200,
    )
    assert [(a.status, a.response_code) for a in item.attempts] == [("delivered", 200)]
    assert item.attempts[0].duration_ms >= 0
    # nothing more is due
    assert await webhook_delivery.run_once(database, utcnow() + timedelta(days=5)) == 0


async def test_one_event_per_subscribed_endpoint_and_wildcard(
    database: Database, server: Receiver
) -> None:
    every = await _endpoint(database, server, ["*"])
    tiers = await _endpoint(database, server, ["tiers.changed", "members.enrolled"])
    async with database.write() as session:
        await emit(session, MembersEnrolled(member_id=1, external_id="c-1"), program_id=1)
    await _emit_tier_change(database)
    await dispatch_pending(database, registry.handlers())
    # a second dispatch (or a repeated run) queues nothing more
    await dispatch_pending(database, registry.handlers(), now=utcnow() + timedelta(days=1))
    assert [d.type for d in await _deliveries(database, every.id)] == [
        "tiers.changed",
        "members.enrolled",
    ]
    assert len(await _deliveries(database, tiers.id)) == 2


async def test_failures_retry_with_backoff_for_three_days_then_disable(
    database: Database, server: Receiver
) -> None:
    webhook = await _endpoint(database, server, ["tiers.changed"])
    server.statuses = [500] * 100
    await _emit_tier_change(database)
    await dispatch_pending(database, registry.handlers())
    start = utcnow()
    moment = start
    waits: list[timedelta] = []
    for _ in range(40):
        if await webhook_delivery.run_once(database, moment) == 0:
            break
        (item,) = await _deliveries(database, webhook.id)
        if item.next_attempt_at is None:
            break
        # not due before its time
        assert await webhook_delivery.run_once(database, item.next_attempt_at - timedelta(1)) == 0
        waits.append(item.next_attempt_at - moment)
        moment = item.next_attempt_at
    (item,) = await _deliveries(database, webhook.id)
    assert item.status == "failed"
    assert waits[:4] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert max(waits) == timedelta(hours=12)
    assert moment - start <= timedelta(days=3)
    assert moment - start > timedelta(days=2)
    assert len(item.attempts) == len(waits) + 1 == len(server.received)
    assert all(r.ok for r in server.received), "every attempt is signed and verifies"
    assert {r.headers["webhook-id"] for r in server.received} == {item.webhook_id}
    assert all((a.status, a.response_code) == ("failed", 500) for a in item.attempts)
    assert all(a.error and a.error.startswith("HTTP 500") for a in item.attempts)
    async with database.read() as session:
        shown = await webhook_service.get_endpoint(session, webhook.id)
    assert not shown.enabled
    assert shown.disabled_at is not None
    assert shown.notice is not None
    assert "no delivery succeeded" in shown.notice
    # a disabled endpoint gets no new deliveries, and its deliveries cannot be redelivered
    await _emit_tier_change(database, member_id=8)
    await dispatch_pending(database, registry.handlers())
    assert len(await _deliveries(database, webhook.id)) == 1
    async with database.write() as session:
        enabled = await webhook_service.enable_endpoint(session, webhook.id, now=utcnow())
    assert enabled.enabled


async def test_a_success_in_between_keeps_the_endpoint(
    database: Database, server: Receiver
) -> None:
    webhook = await _endpoint(database, server, ["tiers.changed"])
    # member 1's delivery fails and member 2's succeeds, whichever arrives first (they are
    # sent at once, and recorded in the order they were claimed: 1, then 2)
    server.status_for = lambda message: 500 if message["data"]["member_id"] == 1 else 200
    await _emit_tier_change(database, member_id=1)
    await _emit_tier_change(database, member_id=2)
    await dispatch_pending(database, registry.handlers())
    now = utcnow()
    assert await webhook_delivery.run_once(database, now) == 2
    async with database.read() as session:
        shown = await webhook_service.get_endpoint(session, webhook.id)
    assert shown.enabled
    assert shown.failing_since is None
    statuses = sorted(d.status for d in await _deliveries(database, webhook.id))
    assert statuses == ["delivered", "pending"]


async def test_gone_disables_at_once(database: Database, server: Receiver) -> None:
    webhook = await _endpoint(database, server, ["tiers.changed"])
    server.statuses = [410]
    await _emit_tier_change(database)
    await dispatch_pending(database, registry.handlers())
    await webhook_delivery.run_once(database, utcnow())
    (item,) = await _deliveries(database, webhook.id)
    assert (item.status, item.response_code) == ("failed", 410)
    async with database.read() as session:
        shown = await webhook_service.get_endpoint(session, webhook.id)
    assert not shown.enabled
    assert shown.notice
    assert "410 Gone" in shown.notice


async def test_redirects_are_not_followed(database: Database, server: Receiver) -> None:
    webhook = await _endpoint(database, server, ["tiers.changed"])
    server.statuses = [302]
    server.location = "http://169.254.169.254/latest/meta-data/"
    await _emit_tier_change(database)
    await dispatch_pending(database, registry.handlers())
    await webhook_delivery.run_once(database, utcnow())
    (item,) = await _deliveries(database, webhook.id)
    assert (item.status, item.response_code) == ("pending", 302)
    assert len(server.received) == 1


async def test_redeliver_sends_the_same_message_again(database: Database, server: Receiver) -> None:
    webhook = await _endpoint(database, server, ["tiers.changed"])
    await _emit_tier_change(database)
    await dispatch_pending(database, registry.handlers())
    await webhook_delivery.run_once(database, utcnow())
    (item,) = await _deliveries(database, webhook.id)
    async with database.write() as session:
        again = await webhook_service.redeliver(session, webhook.id, item.id, now=utcnow())
    assert again.status == "pending"
    await webhook_delivery.run_once(database, utcnow())
    (item,) = await _deliveries(database, webhook.id)
    assert item.status == "delivered"
    assert len(item.attempts) == 2
    first, second = server.received
    assert second.ok
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


async def test_the_address_is_checked_again_at_delivery(
    database: Database, server: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint accepted while private addresses were allowed (or whose name now resolves
    to one: DNS rebinding) is not sent to: the attempt fails with the refusal."""
    webhook = await _endpoint(database, server, ["tiers.changed"])
    await _emit_tier_change(database)
    await dispatch_pending(database, registry.handlers())
    monkeypatch.delenv(ALLOW_PRIVATE_ENV)
    await webhook_delivery.run_once(database, utcnow())
    assert server.received == []
    (item,) = await _deliveries(database, webhook.id)
    assert item.status == "pending"
    error = item.attempts[0].error
    assert error is not None
    assert error.startswith("webhook_url_refused")


async def test_a_removed_endpoint_takes_its_deliveries(
    database: Database, server: Receiver
) -> None:
    webhook = await _endpoint(database, server, ["tiers.changed"])
    await _emit_tier_change(database)
    await dispatch_pending(database, registry.handlers())
    async with database.write() as session:
        await webhook_service.remove_endpoint(session, webhook.id)
    assert await webhook_delivery.run_once(database, utcnow()) == 0
    async with database.read() as session:
        assert list(await session.scalars(select(WebhookDelivery))) == []


async def test_a_batch_of_events_is_queued_once_per_endpoint(
    database: Database, server: Receiver
) -> None:
    """The handler takes the dispatcher's batch at once (``handle_many``): each event gets
    one delivery per endpoint that wants it, also when the batch is offered again; events
    no endpoint wants are screened out and cost no run."""
    async with database.write() as session:
        await emit(session, MembersEnrolled(member_id=1, external_id="early"), program_id=1)
    early = await dispatch_pending(database, registry.handlers())
    assert early.failed == 0, early.errors
    tiers = await _endpoint(database, server, ["tiers.changed"])
    everything = await _endpoint(database, server, ["*"])
    for member_id in (7, 8):
        await _emit_tier_change(database, member_id)
    async with database.write() as session:
        await emit(session, MembersEnrolled(member_id=9, external_id="m9"), program_id=1)
    report = await dispatch_pending(database, registry.handlers())
    assert report.failed == 0, report.errors
    async with database.read() as session:
        pairs = sorted(
            (row[0], row[1])
            for row in await session.execute(
                select(WebhookDelivery.event_type, WebhookDelivery.endpoint_id)
            )
        )
        runs = list(
            await session.scalars(
                select(OutboxHandlerRun.status).where(OutboxHandlerRun.handler == HANDLER_NAME)
            )
        )
    assert pairs == sorted(
        [
            ("members.enrolled", everything.id),
            ("tiers.changed", tiers.id),
            ("tiers.changed", tiers.id),
            ("tiers.changed", everything.id),
            ("tiers.changed", everything.id),
        ]
    )
    assert runs == ["done"] * 3  # the first event came before any endpoint: no run
    # a batch offered again (a retry after a crash) queues nothing twice
    async with database.read() as session:
        envelopes = [e for e in await _envelopes(session) if e.data.get("member_id") != 1]
    assert len(envelopes) == 3
    async with database.write() as session:
        assert await queue_many(session, envelopes) == 0


async def _envelopes(session: AsyncSession) -> list[EventEnvelope]:
    return [
        EventEnvelope(
            id=row.id,
            type=row.type,
            version=row.version,
            program_id=row.program_id,
            member_id=row.member_id,
            occurred_at=row.occurred_at,
            data=row.payload,
        )
        for row in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
    ]


async def test_an_answer_that_trickles_in_fails_at_the_deadline(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint that sends its answer a byte at a time (each within the read timeout) is
    cut off at the attempt's deadline, so it cannot hold the batch (and every other endpoint's
    deliveries) past the lease."""
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    monkeypatch.setattr(webhook_delivery, "ATTEMPT_DEADLINE", 1.0)

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        try:
            for byte in b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.2)
        except ConnectionError:
            pass
        finally:
            writer.close()

    slow = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = slow.sockets[0].getsockname()[1]
    async with database.write() as session:
        webhook = await webhook_service.create_endpoint(
            session,
            url=f"http://127.0.0.1:{port}/hook",
            events=["tiers.changed"],
            description="slow",
            now=utcnow(),
        )
    await _emit_tier_change(database)
    await dispatch_pending(database, registry.handlers())
    started = time.perf_counter()
    async with slow:
        await webhook_delivery.run_once(database, utcnow())
    assert time.perf_counter() - started < 5  # the whole answer takes 11 s to trickle in
    (item,) = await _deliveries(database, webhook.id)
    assert item.status == "pending"
    (attempt,) = item.attempts
    assert attempt.response_code is None
    assert attempt.error == "no complete answer within 1 s"


def test_a_batch_of_slow_endpoints_ends_within_its_lease() -> None:
    """Every attempt of a batch cut off at the deadline still ends before the batch's lease
    does, so another worker never sends a leased delivery a second time."""
    waves = -(-webhook_delivery.BATCH // webhook_delivery.CONCURRENCY)
    assert waves * webhook_delivery.ATTEMPT_DEADLINE < webhook_delivery.LEASE.total_seconds()
