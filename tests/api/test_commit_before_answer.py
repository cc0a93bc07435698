"""A write is committed before its answer leaves: schemathesis's stateful phase (ST302) saw
``POST /reviews`` answer 201 with review 118 and the next ``POST /reviews/118/publish`` answer
404 on PostgreSQL. FastAPI runs the exit code of a ``yield`` dependency after the response is
sent unless the dependency is declared ``scope="function"``, so ``WriteSession`` committed
after the client had its 201 (and a commit that failed then could no longer change the
answer)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from patron.feedback.models import Review
from patron.members.models import Member
from tests.api.conftest import Api


async def _seen_at_response_start(api: Api, path: str, body: dict[str, object]) -> list[int]:
    """The answer's status, then the rows of ``Member`` and ``Review`` another connection
    sees the moment the response starts."""
    app = api.client._transport.app  # type: ignore[attr-defined]
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1{path}",
        "raw_path": f"/api/v1{path}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"patron.test"),
            (b"authorization", api.as_role("admin")["Authorization"].encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("patron.test", 80),
        "state": {},
    }
    sent = False
    seen: list[int] = []

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            async with api.database.read() as session:
                members = await session.scalar(select(func.count()).select_from(Member))
                reviews = await session.scalar(select(func.count()).select_from(Review))
            seen.extend([int(message["status"]), int(members or 0), int(reviews or 0)])  # type: ignore[call-overload]

    await app(scope, receive, send)
    return seen


async def test_the_write_is_visible_when_the_answer_starts(api: Api) -> None:
    assert await _seen_at_response_start(api, "/members", {"external_id": "c1"}) == [201, 1, 0]
    member = (await api.call("GET", "/members/by-external-id/c1")).json()["id"]
    review = {"member_id": member, "rating": 4}
    assert await _seen_at_response_start(api, "/reviews", review) == [201, 1, 1]
