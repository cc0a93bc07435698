"""``POST /purchases`` is served by a direct route with group commit
(``patron.api.direct``, ``patron.kit.group_commit``): the same answers as the standard FastAPI
handler, in the same order, and purchases sent together keep their own outcomes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from patron.ledger.models import LedgerEntry
from patron.purchases.models import Purchase
from tests.api.conftest import Api
from tests.api.test_purchases import enrol, purchase
from tests.events.test_purchase_events import events, last_event_id

GOOD = purchase("d-1", None, [("tea-1", "tea", 1, "100.00")])


async def _counts(api: Api) -> tuple[int, int]:
    async with api.database.read() as session:
        purchases = (await session.execute(select(func.count()).select_from(Purchase))).scalar()
        entries = (await session.execute(select(func.count()).select_from(LedgerEntry))).scalar()
    return int(purchases or 0), int(entries or 0)


async def _post(api: Api, content: bytes, headers: dict[str, str]) -> Any:
    return await api.client.post("/api/v1/purchases", content=content, headers=headers)


async def test_the_key_is_checked_before_the_body_is_read(api: Api) -> None:
    response = await _post(api, b"{", {"content-type": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


async def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    headers = {**api.as_role("pos"), "content-type": "application/json"}
    response = await _post(api, b"{", headers)
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "[1]: JSON decode error",
        "field": "[1]",
        "params": {},
        "details": [
            {
                "field": "[1]",
                "message": "JSON decode error",
                "code": "json_invalid",
                "params": {},
            }
        ],
    }


async def test_a_missing_key_is_refused_before_the_fields_are_checked(api: Api) -> None:
    body = json.dumps({**GOOD, "total": "x"}).encode()
    response = await _post(api, body, {"content-type": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


async def test_another_content_type_gets_the_standard_answer(api: Api) -> None:
    headers = {**api.as_role("pos"), "content-type": "text/plain"}
    response = await _post(api, json.dumps(GOOD).encode(), headers)
    assert response.status_code == 422
    message = "must be a valid dictionary or object to extract fields from"
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": message,
        "field": None,
        "params": {},
        "details": [
            {"field": "", "message": message, "code": "model_attributes_type", "params": {}}
        ],
    }
    assert await _counts(api) == (0, 0)


async def test_json_with_a_charset_is_recorded_and_a_refused_role_writes_nothing(
    api: Api,
) -> None:
    refused = await api.call("POST", "/purchases", json=GOOD, role="staff")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert await _counts(api) == (0, 0)
    headers = {**api.as_role("pos"), "content-type": "application/json; charset=utf-8"}
    created = await _post(api, json.dumps(GOOD).encode(), headers)
    assert created.status_code == 201
    assert created.headers["content-type"] == "application/json"
    assert created.json()["external_id"] == "d-1"
    assert created.json()["total"] == "100.00"


async def test_purchases_sent_together_keep_their_own_outcomes(api: Api) -> None:
    for number in range(6):
        await enrol(api, f"g-{number}")
    bodies = [purchase(f"g-{n}", f"g-{n}", [("tea-1", "tea", 1, "300.00")]) for n in range(6)]
    bodies.insert(2, purchase("g-x", "nobody", [("tea-1", "tea", 1, "300.00")]))
    bodies.insert(4, {**bodies[0], "channel": "web"})  # g-0 again with another body
    bodies.append(bodies[1])  # g-1 again, the same body

    responses = await asyncio.gather(
        *(api.call("POST", "/purchases", json=body, role="pos") for body in bodies)
    )

    codes = [response.status_code for response in responses]
    assert [codes[n] for n in (3, 5, 6, 7)] == [201] * 4
    assert codes[2] == 404
    assert responses[2].json()["error"]["code"] == "member_not_found"
    assert sorted([codes[0], codes[4]]) == [201, 409]  # g-0 and g-0 with another body
    assert sorted([codes[1], codes[8]]) == [200, 201]  # g-1 twice
    assert responses[1].json() == responses[8].json()
    assert await _counts(api) == (6, 6)
    recorded = [r.json() for r in responses if r.status_code == 201]
    assert sorted(row["external_id"] for row in recorded) == [f"g-{n}" for n in range(6)]
    assert [row["member_id"] is not None for row in recorded] == [True] * 6


async def test_the_lane_skips_routing_and_replays_what_it_declines(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DirectLane`` answers a purchase without FastAPI's routing; a body the fast path
    declines reaches the standard handler whole (its 422 names the field at fault)."""
    routed: list[str] = []
    handle = APIRoute.handle

    async def counted(self: APIRoute, scope: Any, receive: Any, send: Any) -> None:
        routed.append(self.path)
        await handle(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", counted)
    created = await api.call("POST", "/purchases", json=GOOD, role="pos")
    assert created.status_code == 201
    assert routed == []

    refused = await api.call("POST", "/purchases", json={**GOOD, "total": "1.2.3"}, role="pos")
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "total"
    assert routed == ["/purchases"]  # the route as its router declares it
    unknown = await api.call("POST", "/purchases", json={**GOOD, "external_id": ""}, role="pos")
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "external_id"
    assert await _counts(api) == (1, 0)


async def test_the_direct_lane_emits_the_events_once(api: Api) -> None:
    member = await enrol(api, "c-1")
    before = await last_event_id(api.database)
    body = purchase("d-1", "c-1", [("tea-1", "tea", 1, "100.00")])

    first = await api.call("POST", "/purchases", json=body, role="pos")
    again = await api.call("POST", "/purchases", json=body, role="pos")

    assert (first.status_code, again.status_code) == (201, 200)
    written = await events(api.database, before)
    assert [(name, m, payload["points"]) for name, _, m, payload in written] == [
        ("purchases.recorded", member["id"], 10),
        ("ledger.credited", member["id"], 10),
    ]
    assert written[0][3]["purchase_id"] == first.json()["id"]
