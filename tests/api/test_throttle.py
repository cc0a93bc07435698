"""Guessing is slow, and it is seen (issue 16, part 3): repeated 401s per client address and
repeated 404s on coupon codes and page tokens per key or address answer 429 with
``Retry-After``; ``X-Forwarded-For`` counts only from a trusted proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from patron.api.app import create_app
from patron.api.throttle import AUTH_ENV, LOOKUP_ENV, PROXIES_ENV, Counter, TooManyRequestsError
from patron.kit.db import Database
from tests.api.conftest import Api


@pytest.fixture
async def strict(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Api]:
    """The ``api`` fixture's keys and data against an app with small limits: 5 bad keys and
    5 misses a minute, behind a trusted proxy at 127.0.0.1."""
    monkeypatch.setenv(AUTH_ENV, "5")
    monkeypatch.setenv(LOOKUP_ENV, "5")
    monkeypatch.setenv(PROXIES_ENV, "127.0.0.1, 10.0.0.0/8")
    app = create_app(database.url)
    app.state.database = database
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as client:
        yield Api(client=client, keys=api.keys, database=database)


async def _status(api: Api, path: str, headers: dict[str, str]) -> int:
    return (await api.client.get(path, headers=headers)).status_code


def _from(address: str, key: str | None = None) -> dict[str, str]:
    headers = {"X-Forwarded-For": f"{address}, 10.1.1.1"}  # the client, then an inner proxy
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return headers


async def test_repeated_bad_keys_are_refused_for_a_minute(strict: Api) -> None:
    attacker, neighbour = "203.0.113.5", "198.51.100.7"
    for n in range(5):
        bad = await strict.client.get("/api/v1/program", headers=_from(attacker, f"ptr_guess{n}"))
        assert bad.status_code == 401
    refused = await strict.client.get("/api/v1/program", headers=_from(attacker, "ptr_more"))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    # the address is refused even with a good key; another address is not
    good = strict.keys["admin"]
    assert (
        await strict.client.get("/api/v1/program", headers=_from(attacker, good))
    ).status_code == 429
    assert (
        await strict.client.get("/api/v1/program", headers=_from(neighbour, good))
    ).status_code == 200


async def test_forwarded_for_counts_only_from_a_trusted_proxy(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(AUTH_ENV, "3")
    app = create_app(database.url)  # no trusted proxy: the header is the client's own word
    app.state.database = database
    transport = httpx.ASGITransport(app=app, client=("192.0.2.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as client:
        for n in range(3):
            headers = {"X-Forwarded-For": f"203.0.113.{n}", "Authorization": "Bearer ptr_x"}
            assert (await client.get("/api/v1/program", headers=headers)).status_code == 401
        changed = {"X-Forwarded-For": "203.0.113.99", "Authorization": "Bearer ptr_x"}
        assert (await client.get("/api/v1/program", headers=changed)).status_code == 429


async def test_guessing_coupon_codes_is_refused_per_key(strict: Api) -> None:
    till, other = strict.keys["pos"], strict.keys["staff"]
    for n in range(5):
        miss = await strict.client.get(
            f"/api/v1/coupons/GUESS{n}", headers=_from("203.0.113.5", till)
        )
        assert miss.status_code == 404
    refused = await strict.client.get("/api/v1/coupons/GUESS9", headers=_from("203.0.113.5", till))
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "too_many_requests")
    # the next key, from the same address, may still look codes up
    other_key = await strict.client.get(
        "/api/v1/coupons/GUESS9", headers=_from("203.0.113.5", other)
    )
    assert other_key.status_code == 404
    # other routes of the throttled key still work
    assert (
        await strict.client.get("/api/v1/program", headers=_from("203.0.113.5", till))
    ).status_code == 200


async def test_guessing_survey_tokens_is_refused_per_address(strict: Api) -> None:
    for n in range(5):
        page = await strict.client.get(f"/s/guess-{n}", headers=_from("203.0.113.8"))
        assert page.status_code == 404
    refused = await strict.client.get("/s/guess-9", headers=_from("203.0.113.8"))
    assert refused.status_code == 429
    assert (await strict.client.get("/s/guess-9", headers=_from("203.0.113.9"))).status_code == 404


def test_the_window_slides() -> None:
    counter = Counter(limit=2)
    counter.fail("a", now=0.0)
    counter.fail("a", now=30.0)
    with pytest.raises(TooManyRequestsError) as refused:
        counter.check("a", now=31.0)
    assert refused.value.retry_after == 30  # the failure at 0 s leaves the window at 60 s
    counter.check("a", now=60.5)  # one failure left in the window
    counter.check("b", now=31.0)
