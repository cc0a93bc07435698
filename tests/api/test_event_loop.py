"""Long or lock-waiting work does not hold other requests up (issue 16).

A real server (the app under uvicorn in a thread of its own, with its own event loop, as
``patron serve`` runs it) gets a maximal purchase batch, 500 purchases and 20,000 lines, and
``/healthz`` is asked all along: before the batch was recorded in slices it kept ``/healthz``
waiting for its whole run. On SQLite, requests that need no write (a guessed survey,
unsubscribe or portal login token) are answered while another connection holds the write
lock, and a write that outwaits the busy timeout answers 503 ``database_busy``.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from patron.api.app import create_app
from patron.kit.db import Database
from patron.purchases.schemas import MOST_LINES_PER_BATCH, MOST_PURCHASES_PER_BATCH
from tests.api.conftest import Api
from tests.api.test_purchases import purchase

LINES_EACH = MOST_LINES_PER_BATCH // MOST_PURCHASES_PER_BATCH
WHEN = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _maximal_batch(prefix: str) -> dict[str, Any]:
    lines = [(f"sku-{n}", "coffee", 1, "1.50") for n in range(LINES_EACH)]
    return {
        "purchases": [
            purchase(f"{prefix}-{n}", None, lines, at=WHEN) for n in range(MOST_PURCHASES_PER_BATCH)
        ]
    }


@pytest.fixture
def server(api: Api) -> Iterator[str]:
    """The app on the test database under uvicorn in a thread (its own loop); its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(api.database.url, dispatch=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    serving = uvicorn.Server(config)
    thread = threading.Thread(target=serving.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not serving.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    serving.should_exit = True
    thread.join(timeout=30)


@pytest.mark.slow
async def test_healthz_is_answered_while_a_maximal_batch_runs(api: Api, server: str) -> None:
    body = _maximal_batch("loop")
    headers = api.as_role("pos")
    async with httpx.AsyncClient(base_url=server, timeout=300) as client:
        assert (await client.get("/healthz")).status_code == 200  # the connection is open
        started = time.monotonic()
        batch = asyncio.create_task(
            client.post("/api/v1/purchases/batch", json=body, headers=headers)
        )
        waits: list[float] = []
        async with httpx.AsyncClient(base_url=server, timeout=300) as prober:
            while not batch.done():
                asked = time.monotonic()
                assert (await prober.get("/healthz")).status_code == 200
                if not batch.done():  # answered while the batch was still running
                    waits.append(time.monotonic() - asked)
                await asyncio.sleep(0.02)
        answer = await batch
        seconds = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert [item["status"] for item in answer.json()["results"]] == [201] * len(body["purchases"])
    # in one go the batch held /healthz for (nearly) all of its run; in slices it is answered
    # all along. Generous bounds: the suite's machines are busy.
    assert len(waits) >= 5, (waits, seconds)
    assert max(waits) < max(1.0, seconds / 2), (max(waits), seconds)


async def test_the_paced_batch_answers_as_the_standard_route(api: Api) -> None:
    """A till's batch goes through the paced path, an admin's through FastAPI's route (it is
    audited): sent again by the admin, every purchase is the same one, answered 200."""
    lines = [("tea-1", "tea", 2, "150.00"), ("cof-1", "coffee", 1, "99.90")]
    body = {
        "purchases": [
            purchase("same-1", None, lines, at=WHEN),
            purchase("same-2", None, lines, at=WHEN, total="1.00"),  # below the lines: a discount
            {**purchase("same-3", None, lines, at=WHEN), "currency": "EUR"},  # refused alone
        ]
    }
    first = await api.call("POST", "/purchases/batch", json=body, role="pos")
    again = await api.call("POST", "/purchases/batch", json=body, role="admin")
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    firsts, agains = first.json()["results"], again.json()["results"]
    assert [item["status"] for item in firsts] == [201, 201, agains[2]["status"]]
    assert [item["status"] for item in agains] == [200, 200, firsts[2]["status"]]
    assert firsts[2]["status"] >= 400
    for one, other in zip(firsts, agains, strict=True):
        assert one.keys() == other.keys()
        assert (one["purchase"], one["error"]) == (other["purchase"], other["error"])


@pytest.fixture
def write_lock(api: Api) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holding SQLite's write lock."""
    if not api.database.is_sqlite:
        pytest.skip("SQLite's one write lock")
    other = sqlite3.connect(make_url(api.database.url).database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield other
    other.execute("ROLLBACK")
    other.close()


async def test_guessed_tokens_are_answered_without_the_write_lock(
    api: Api, write_lock: sqlite3.Connection
) -> None:
    transport = api.client._transport  # the app under test, on a loopback address (cookies)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        started = time.monotonic()
        survey = await client.post("/s/guessed-token", data={"q1": "5"})
        unsubscribe = await client.post("/u/1.email.guessed")
        page = await client.get("/portal/login/guessed-token")
        form = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        login = await client.post("/portal/login/guessed-token", data={"csrf_token": form})
    assert (survey.status_code, unsubscribe.status_code, login.status_code) == (404, 404, 401)
    assert time.monotonic() - started < 5  # a write would have waited the busy timeout (60 s)


async def test_a_write_past_the_busy_timeout_answers_503(
    api: Api, write_lock: sqlite3.Connection
) -> None:
    impatient = Database(api.database.url, busy_timeout=0.3)
    api.client._transport.app.state.database = impatient  # type: ignore[attr-defined]
    try:
        body = purchase("busy-1", None, [("tea-1", "tea", 1, "100.00")], at=WHEN)
        answer = await api.call("POST", "/purchases", json=body, role="pos")
        members = await api.call("GET", "/members?limit=1", role="staff")  # reads go on
    finally:
        await impatient.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "database_busy"
    assert answer.headers["Retry-After"] == "1"
    assert members.status_code == 200
