"""The request guard: the key before the body, bodies capped with 413 ``payload_too_large``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from patron.api.guard import BodyLimits
from patron.purchases.models import Purchase
from tests.api.conftest import Api

BIG = 1024 * 1024 + 1


async def _purchases(api: Api) -> int:
    async with api.database.read() as session:
        return int(
            (await session.execute(select(func.count()).select_from(Purchase))).scalar() or 0
        )


async def _chunks(size: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        chunk = b" " * min(64 * 1024, size - sent)
        sent += len(chunk)
        yield chunk


async def test_a_large_body_without_a_key_is_401_before_it_is_read(api: Api) -> None:
    read: list[int] = []

    async def counted() -> AsyncIterator[bytes]:
        async for chunk in _chunks(4 * BIG):
            read.append(len(chunk))
            yield chunk

    response = await api.client.post("/api/v1/purchases/batch", content=counted())
    assert (response.status_code, response.json()["error"]["code"]) == (401, "missing_api_key")
    assert read == []  # not a byte of the body was asked for


@pytest.mark.parametrize("path", ["/purchases", "/members", "/program", "/redemptions"])
async def test_a_declared_length_above_1_mib_is_413(api: Api, path: str) -> None:
    response = await api.call("POST", path, "admin", content=b"{" + b" " * BIG + b"}")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert await _purchases(api) == 0


async def test_a_chunked_body_is_cut_off_at_the_limit(api: Api) -> None:
    headers = {**api.as_role("pos"), "content-type": "application/json"}
    response = await api.client.post("/api/v1/purchases", content=_chunks(BIG), headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")


async def test_the_batch_routes_take_8_mib(api: Api) -> None:
    padding = " " * (2 * 1024 * 1024)
    body = json.dumps({"purchases": []}) + padding
    headers = {**api.as_role("pos"), "content-type": "application/json"}
    response = await api.client.post("/api/v1/purchases/batch", content=body, headers=headers)
    assert response.status_code == 422  # read, then refused for its fields: not 413
    too_big = body + " " * (7 * 1024 * 1024)
    response = await api.call("POST", "/purchases/batch", "pos", content=too_big)
    assert response.status_code == 413


async def test_a_public_page_is_capped_too(api: Api) -> None:
    response = await api.client.post("/s/some-token", content=b"nps=9&" + b"x" * BIG)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")


def test_the_limits_are_configurable() -> None:
    limits = BodyLimits.from_environment(
        {"PATRON_MAX_BODY_BYTES": "2048", "PATRON_MAX_BATCH_BODY_BYTES": "4096"}
    )
    assert limits.for_path("/api/v1/purchases") == 2048
    assert limits.for_path("/api/v1/purchases/batch") == 4096
    assert BodyLimits.from_environment({}) == BodyLimits(1024 * 1024, 8 * 1024 * 1024)
    for wrong in ("1MB", "²"):  # "²".isdigit(), but int("²") raises without the name
        with pytest.raises(ValueError, match="PATRON_MAX_BODY_BYTES"):
            BodyLimits.from_environment({"PATRON_MAX_BODY_BYTES": wrong})


async def test_a_small_limit_applies_to_the_app(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from patron.api.app import create_app

    monkeypatch.setenv("PATRON_MAX_BODY_BYTES", "100")
    app = create_app(api.database.url)
    app.state.database = api.database
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(
            "/api/v1/members", json={"external_id": "x" * 200}, headers=api.as_role("pos")
        )
    assert response.status_code == 413


def test_openapi_declares_413_on_operations_with_a_body() -> None:
    from patron.api.app import create_app

    document = create_app("sqlite+aiosqlite:///:memory:").openapi()
    operation = document["paths"]["/api/v1/purchases"]["post"]
    assert "413" in operation["responses"]


async def test_a_batch_has_at_most_20000_lines(api: Api) -> None:
    line = {"sku": "s", "quantity": 1, "unit_price": "1.00"}
    purchase = {
        "external_id": "x",
        "occurred_at": "2026-12-01T10:00:00Z",
        "currency": "RUB",
        "total": "1000.00",
        "lines": [line] * 1000,
    }
    batch = {"purchases": [{**purchase, "external_id": f"x{n}"} for n in range(21)]}
    response = await api.call("POST", "/purchases/batch", "pos", json=batch)
    assert response.status_code == 422
    assert "at most 20000 lines" in response.json()["error"]["message"]
    assert await _purchases(api) == 0
