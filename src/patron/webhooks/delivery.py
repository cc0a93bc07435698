"""The webhook poller: sends due deliveries, logs every attempt, schedules retries and
disables an endpoint that keeps failing.

One round (:func:`run_once`) claims up to :data:`BATCH` due deliveries of enabled endpoints
(on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so several workers share them) by moving their
``next_attempt_at`` a lease ahead, sends them concurrently outside any transaction, then
records each attempt in one unit of work. A worker that dies mid-send leaves its deliveries
due again when the lease ends (at least once: receivers deduplicate by ``webhook-id``).

A send re-checks the URL's addresses (DNS rebinding) and connects to the checked address;
redirects are not followed (a 3xx is a failure) and proxies from the environment are not
used. A 2xx answer delivers; anything else is retried after 10 s, 20 s, 40 s, ... (doubling,
at most 12 h between attempts) until :data:`~patron.webhooks.service.RETRY_WINDOW` (three
days) is over, then the delivery has ``failed``. A 410 Gone fails it at once and disables the
endpoint. An endpoint whose delivery ran out of retries without the endpoint accepting any
delivery in those three days is disabled, with a notice saying why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import patron
from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.kit.outbox import Poller
from patron.kit.raw import Sql, raw_of, read_time
from patron.kit.time import utcnow
from patron.webhooks import addresses, signing
from patron.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from patron.webhooks.service import RETRY_WINDOW

logger = logging.getLogger(__name__)

POLLER_NAME = "webhooks.deliver"
BATCH = 50
CONCURRENCY = 8
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=12)
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
ATTEMPT_DEADLINE = 15.0
"""Seconds an attempt may take in all: httpx's timeouts bound each read, so an endpoint sending
its answer a byte at a time would otherwise hold the attempt (and its batch) for hours. A batch
of :data:`BATCH` in waves of :data:`CONCURRENCY` then ends within the :data:`LEASE`."""
EXCERPT = 200  # characters of a refusing answer's body kept in the log
USER_AGENT = f"Patron-Webhooks/{patron.__version__}"


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 10 s doubling, at most 12 h."""
    wait: timedelta = FIRST_RETRY * (2 ** min(attempts - 1, 20))
    return min(wait, LONGEST_WAIT)


@dataclass(frozen=True, slots=True)
class Job:
    delivery_id: int
    endpoint_id: int
    url: str
    secret: str
    message_id: str
    body: str
    attempts: int
    retry_until: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    delivered: bool
    response_code: int | None
    duration_ms: int
    error: str | None
    attempted_at: datetime


_DUE = Sql(
    "SELECT d.id, d.endpoint_id, e.url, e.secret, d.message_id, d.body, d.attempts, "
    "d.retry_until FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
    "WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.enabled "
    "ORDER BY d.next_attempt_at, d.id LIMIT $2",
    postgresql_suffix=" FOR UPDATE OF d SKIP LOCKED",
)
_LEASE_ONE = Sql("UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1")
_LEASE_BATCH_PG = Sql(
    "UPDATE webhook_deliveries AS d SET next_attempt_at = $2 "
    "FROM unnest($1::bigint[]) AS s (id) WHERE d.id = s.id"
)


async def _claim(database: Database, now: datetime) -> list[Job]:
    """Up to :data:`BATCH` due deliveries of enabled endpoints, leased (``next_attempt_at``
    moved :data:`LEASE` ahead). Raw statements (:mod:`patron.kit.raw`): every round of every
    worker asks, and most rounds find nothing."""
    async with database.write() as session:
        raw = await raw_of(session)
        rows = await raw.all(_DUE, now, BATCH)
        jobs = [  # the columns in the order of Job's fields; the time read back aware
            Job(delivery, endpoint, url, secret, message, body, attempts, read_time(end) or end)
            for delivery, endpoint, url, secret, message, body, attempts, end in rows
        ]
        if jobs and raw.is_sqlite:
            await raw.many(_LEASE_ONE, [(job.delivery_id, now + LEASE) for job in jobs])
        elif jobs:
            await raw.run(_LEASE_BATCH_PG, [job.delivery_id for job in jobs], now + LEASE)
    return jobs


def _pinned(target: addresses.Target) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
    """The request URL aimed at the checked address, the ``Host`` header and the TLS server
    name: the connection goes where the check looked, whatever DNS answers next."""
    url = httpx.URL(target.url)
    address = target.addresses[0]
    if str(address) == target.host:
        return url, {}, {}
    extensions = {"sni_hostname": target.host} if url.scheme == "https" else {}
    return url.copy_with(host=str(address)), {"Host": url.netloc.decode("ascii")}, extensions


async def send(client: httpx.AsyncClient, job: Job) -> Outcome:
    """One attempt of ``job`` (never raises: every failure is an :class:`Outcome`), the address
    check included, cut off at :data:`ATTEMPT_DEADLINE`."""
    started = time.perf_counter()
    attempted_at = utcnow()

    def outcome(delivered: bool, code: int | None, error: str | None) -> Outcome:
        duration = round((time.perf_counter() - started) * 1000)
        return Outcome(delivered, code, duration, error, attempted_at)

    try:
        async with asyncio.timeout(ATTEMPT_DEADLINE):
            return await _attempt(client, job, outcome)
    except TimeoutError:
        return outcome(False, None, f"no complete answer within {ATTEMPT_DEADLINE:g} s")


async def _attempt(
    client: httpx.AsyncClient, job: Job, outcome: Callable[[bool, int | None, str | None], Outcome]
) -> Outcome:
    try:
        target = await addresses.check(job.url)
    except PatronError as error:
        return outcome(False, None, f"{error.code}: {error.message}")
    body = job.body.encode()
    url, host, extensions = _pinned(target)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **host,
        **signing.headers(job.secret, job.message_id, utcnow(), body),
    }
    try:
        async with client.stream(
            "POST", url, content=body, headers=headers, extensions=extensions
        ) as response:
            excerpt = b""
            if not response.is_success:
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT:
                        break
    except httpx.HTTPError as error:
        return outcome(False, None, f"{type(error).__name__}: {error}"[:500] or "HTTP error")
    if response.is_success:
        return outcome(True, response.status_code, None)
    text = excerpt[:EXCERPT].decode("utf-8", "replace").strip()
    return outcome(False, response.status_code, f"HTTP {response.status_code}: {text}"[:500])


async def _record(session: AsyncSession, job: Job, result: Outcome, now: datetime) -> None:
    session.add(
        WebhookAttempt(
            delivery_id=job.delivery_id,
            attempted_at=result.attempted_at,
            status="delivered" if result.delivered else "failed",
            response_code=result.response_code,
            duration_ms=result.duration_ms,
            error=result.error,
        )
    )
    delivery = await session.get(WebhookDelivery, job.delivery_id)
    endpoint = await session.get(WebhookEndpoint, job.endpoint_id)
    if delivery is None or endpoint is None:  # removed while it was being sent
        return
    attempts = job.attempts + 1
    delivery.attempts = attempts
    delivery.last_attempt_at = result.attempted_at
    delivery.response_code = result.response_code
    if result.delivered:
        delivery.status = "delivered"
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = result.attempted_at
    gone = result.response_code == 410
    retry_at = now + retry_delay(attempts)
    if not gone and retry_at <= job.retry_until:
        delivery.next_attempt_at = retry_at
        return
    delivery.status = "failed"
    delivery.next_attempt_at = None
    # no delivery to the endpoint succeeded since this one's first attempt of its window
    first_attempt = await session.scalar(
        select(func.min(WebhookAttempt.attempted_at)).where(
            WebhookAttempt.delivery_id == job.delivery_id,
            WebhookAttempt.attempted_at >= job.retry_until - RETRY_WINDOW,
        )
    )
    kept_failing = first_attempt is not None and endpoint.failing_since <= first_attempt
    if endpoint.enabled and (gone or kept_failing):
        endpoint.enabled = False
        endpoint.disabled_at = now
        why = (
            "it answered 410 Gone"
            if gone
            else f"no delivery succeeded since {endpoint.failing_since.isoformat()}"
        )
        endpoint.notice = (
            f"disabled at {now.isoformat()}: {why}; last attempt of delivery "
            f"{delivery.id} ({delivery.message_id}): {result.error}"
        )
        logger.warning(  # the notice (endpoint.notice) may quote the endpoint's answer: not here
            "webhook disabled",
            extra={
                "event": "webhook_disabled",
                "endpoint_id": endpoint.id,
                "delivery_id": delivery.id,
                "gone": gone,
            },
        )


async def run_once(database: Database, now: datetime) -> int:
    """Send the deliveries due at ``now`` (a batch); returns how many were attempted. ``now``
    schedules; each signature's timestamp is the moment of sending."""
    jobs = await _claim(database, now)
    if not jobs:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def bounded(job: Job) -> Outcome:
        async with gate:
            return await send(client, job)

    async with httpx.AsyncClient(
        timeout=TIMEOUT, follow_redirects=False, trust_env=False
    ) as client:
        results = await asyncio.gather(*(bounded(job) for job in jobs))
    async with database.write() as session:
        for job, result in zip(jobs, results, strict=True):
            await _record(session, job, result, now)
    return len(jobs)


def pollers() -> list[Poller]:
    return [Poller(POLLER_NAME, run_once)]
