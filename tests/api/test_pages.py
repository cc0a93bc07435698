"""Every list follows one convention (docs/api.md, "Lists and pages"): ``items`` and
``next_cursor``, asked for with ``?cursor=`` and ``?limit=``. The OpenAPI document is walked
for every list route; each list is paged through by its cursor (every item exactly once),
and its legacy position parameter still works beside it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from patron.api.app import create_app
from tests.api.conftest import Api
from tests.api.paging import assert_each_once

DOCUMENT: dict[str, Any] = create_app().openapi()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]

# GET routes answering a list without the convention, and why
NOT_PAGED = {
    "/api/v1/analytics/rfm": "an overview, not a list: its `page` field is a page of the "
    "convention (MemberScoresPage), asked for with `cursor`/`after` and `limit`",
    "/api/v1/events/dead": "the dead letters: a bounded repair queue, `limit` only",
    "/api/v1/surveys/{key}/invitations": "a survey's invitations: `limit` only, newest first",
    "/api/v1/keys": "every API key: a short list, whole",
    "/api/v1/webhooks": "every webhook endpoint: a short list, whole",
    "/api/v1/campaigns": "the program's campaigns in file order, whole",
    "/api/v1/surveys": "the survey definitions, whole",
    "/api/v1/rewards": "the reward catalogue of the program, whole",
    "/api/v1/program/versions": "the program's versions, whole",
    "/api/v1/partners": "the program's coalition partners, from its file, whole",
    "/api/v1/members/{member_id}/tier-history": "a member's tier changes, whole",
    "/api/v1/feedback/follow-ups": "the detractors and negative reviews still without a "
    "follow-up: a work queue that empties as it is worked, whole",
}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _answers_a_list(operation: dict[str, Any]) -> dict[str, Any] | None:
    """The 200 schema of an operation that answers a list (an array, or an object with an
    array of ``items``), else None."""
    content = operation["responses"].get("200", {}).get("content", {})
    if "application/json" not in content:
        return None
    schema = _resolve(content["application/json"]["schema"])
    if schema.get("type") == "array":
        return schema
    items = schema.get("properties", {}).get("items")
    return schema if items is not None and _resolve(items).get("type") == "array" else None


def _list_routes() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path, operations in DOCUMENT["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        schema = _answers_a_list(operation)
        if schema is not None or names & {"cursor", "after", "limit", "offset"}:
            found.append((path, operation, schema or {}))
    return found


def test_every_list_route_follows_the_convention_or_says_why_not() -> None:
    routes = _list_routes()
    assert len(routes) >= 12
    paged = []
    for path, operation, schema in routes:
        if path in NOT_PAGED:
            continue
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        assert {"cursor", "limit"} <= set(parameters), path
        cursor = parameters["cursor"]
        assert (cursor["in"], cursor["required"]) == ("query", False), path
        assert {"items", "next_cursor"} <= set(schema.get("required", [])), path
        next_cursor = schema["properties"]["next_cursor"]
        assert {option.get("type") for option in next_cursor["anyOf"]} == {"string", "null"}
        assert "invalid_cursor" in operation["responses"]["422"]["x-rule-codes"], path
        paged.append(path)
    assert len(paged) == 11
    rfm = SCHEMAS["MemberScoresPage"]
    assert {"items", "next_cursor"} <= set(rfm["required"])
    # an exception names a list route that exists
    assert set(NOT_PAGED) <= {path for path, _, _ in routes}


async def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def _enrol(api: Api, n: int) -> list[int]:
    return [
        (await _ok(await api.call("POST", "/members", json={"external_id": f"page-{i}"})))["id"]
        for i in range(n)
    ]


async def _members(api: Api) -> str:
    await _enrol(api, 5)
    return "/members"


async def _products(api: Api) -> str:
    for i in range(5):
        await _ok(await api.call("POST", "/products", json={"sku": f"s-{i}", "name": f"P {i}"}))
    return "/products"


async def _audit(api: Api) -> str:
    await _products(api)
    return "/audit"


async def _tickets(api: Api) -> str:
    (member,) = await _enrol(api, 1)
    for i in range(5):
        body = {"member_id": member, "channel": "email", "category": "delivery"}
        await _ok(await api.call("POST", "/tickets", json=body | {"subject": f"T{i}", "text": "x"}))
    return "/tickets"


async def _reviews(api: Api) -> str:
    (member,) = await _enrol(api, 1)
    for i in range(5):
        body = {"member_id": member, "rating": 1 + i % 5, "idempotency_key": f"r-{i}"}
        await _ok(await api.call("POST", "/reviews", json=body))
    return "/reviews"


async def _ledger(api: Api) -> str:
    (member,) = await _enrol(api, 1)
    for i in range(5):
        body = {
            "external_id": f"order-{i}",
            "member_id": member,
            "occurred_at": "2026-12-01T10:00:00Z",
            "currency": "RUB",
            "total": "500.00",
            "lines": [{"sku": "a", "category": "c", "quantity": 1, "unit_price": "500.00"}],
        }
        await _ok(await api.call("POST", "/purchases", json=body))
    return f"/members/{member}/ledger"


SEEDS: dict[str, Callable[[Api], Awaitable[str]]] = {
    "members": _members,
    "products": _products,
    "audit": _audit,
    "tickets": _tickets,
    "reviews": _reviews,
    "ledger": _ledger,
}


@pytest.mark.parametrize("name", sorted(SEEDS))
async def test_paging_by_cursor_returns_every_item_exactly_once(api: Api, name: str) -> None:
    path = await SEEDS[name](api)

    async def get(params: dict[str, Any]) -> httpx.Response:
        return await api.call("GET", path, params=params)

    assert len(await assert_each_once(get)) >= 5


@pytest.mark.parametrize(("name", "legacy"), [("members", "after"), ("tickets", "offset")])
async def test_the_legacy_position_still_pages(api: Api, name: str, legacy: str) -> None:
    path = await SEEDS[name](api)
    first = await _ok(await api.call("GET", path, params={"limit": 2}))
    by_legacy = await _ok(
        await api.call("GET", path, params={"limit": 2, legacy: first[f"next_{legacy}"]})
    )
    by_cursor = await _ok(
        await api.call("GET", path, params={"limit": 2, "cursor": first["next_cursor"]})
    )
    assert by_legacy == by_cursor
    both = await api.call(
        "GET",
        path,
        params={"limit": 2, "cursor": first["next_cursor"], legacy: first[f"next_{legacy}"]},
    )
    assert both.status_code == 422
    assert (both.json()["error"]["code"], both.json()["error"]["field"]) == (
        "invalid_cursor",
        "cursor",
    )


@pytest.mark.parametrize("name", ["members", "ledger"])
async def test_a_tampered_or_foreign_cursor_is_refused(api: Api, name: str) -> None:
    path = await SEEDS[name](api)
    first = await _ok(await api.call("GET", path, params={"limit": 2}))
    cursor = first["next_cursor"]
    tampered = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    products = await _ok(await api.call("GET", "/products", params={"limit": 1}))
    foreign = [products["next_cursor"]] if products["next_cursor"] else []
    for bad in [tampered, "Wzk5OV0", *foreign]:
        refused = await api.call("GET", path, params={"cursor": bad})
        assert refused.status_code == 422, bad
        error = refused.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_cursor", "cursor")
