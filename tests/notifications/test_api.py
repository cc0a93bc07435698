"""The message log over the API and the unsubscribe page: a one-click POST (RFC 8058, no
confirmation field) revokes the consent, and the next message is not sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from patron.access import service as access_service
from patron.access.models import Role
from patron.api.app import create_app
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.members import service as members_service
from tests.api.paging import assert_each_once
from tests.notifications.conftest import (
    PUBLIC,
    Inbox,
    dispatch,
    emit_event,
    enrol,
    send,
    tier_up,
)


@pytest.fixture
async def client(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(database.url)
    app.state.database = database
    async with database.write() as session:
        key = await access_service.create_key(session, name="s", role=Role.STAFF, now=utcnow())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://patron.test",
        headers={"Authorization": f"Bearer {key.key}"},
    ) as client:
        yield client


async def test_one_click_unsubscribe_revokes_consent(
    database: Database, program_id: int, inbox: Inbox, client: httpx.AsyncClient
) -> None:
    member_id = await enrol(database, program_id, external_id="anna")
    await emit_event(database, tier_up(member_id, "silver"), program_id)
    await dispatch(database)
    await send(database)
    [(_, email)] = inbox.messages
    link = email["List-Unsubscribe"].strip("<>")
    path = link.removeprefix(PUBLIC)

    page = await client.get(path)
    assert page.status_code == 200
    assert '<html lang="ru">' in page.text
    assert "Отписаться" in page.text
    async with database.read() as session:
        member = await members_service.get_member(session, member_id=member_id)
    assert [c.is_granted for c in member.consents] == [True]  # GET changes nothing

    # what a mail client sends (RFC 8058): no confirmation, no cookie, no key
    one_click = await client.post(
        path, content="List-Unsubscribe=One-Click", headers={"Authorization": ""}
    )
    assert one_click.status_code == 200, one_click.text
    assert "Вы отписались" in one_click.text
    async with database.read() as session:
        member = await members_service.get_member(session, member_id=member_id)
        history = await members_service.consent_history(session, member_id=member_id)
    assert [c.is_granted for c in member.consents] == [False]
    assert history[-1].source == "unsubscribe_link"
    again = await client.post(path, content="List-Unsubscribe=One-Click")
    assert again.status_code == 200

    await emit_event(database, tier_up(member_id, "gold"), program_id)
    await dispatch(database)
    await send(database)
    assert len(inbox.messages) == 1
    listed = await client.get("/api/v1/messages", params={"member_id": member_id})
    assert listed.status_code == 200
    body = listed.json()
    assert [(m["kind"], m["status"]) for m in body["items"]] == [
        ("tier_changed", "skipped_no_consent"),
        ("tier_changed", "sent"),
    ]
    assert body["items"][1]["recipient"] == "anna@example.com"
    assert body["items"][1]["language"] == "ru"
    assert body["waiting"] == {}


@pytest.mark.parametrize(
    "token", ["1.email.AAAAAAAAAAAAAAAAAAAAAA", "nonsense", "999999.email.xxxxxxxxxxxxxxxxxxxxxx"]
)
async def test_a_forged_or_broken_link_is_refused(
    database: Database, program_id: int, inbox: Inbox, client: httpx.AsyncClient, token: str
) -> None:
    member_id = await enrol(database, program_id, external_id="anna")
    await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)
    for response in (await client.get(f"/u/{token}"), await client.post(f"/u/{token}")):
        assert response.status_code == 404
        assert "not valid" in response.text
    async with database.read() as session:
        member = await members_service.get_member(session, member_id=member_id)
    assert [c.is_granted for c in member.consents] == [True]


async def test_a_broken_link_is_refused_in_the_browsers_language(
    client: httpx.AsyncClient,
) -> None:
    """A link that names no member has no member's language: the page speaks the browser's."""
    for method in ("GET", "POST"):
        russian = await client.request(
            method, "/u/nonsense", headers={"accept-language": "ru-RU,ru;q=0.9,en;q=0.8"}
        )
        assert russian.status_code == 404
        assert '<html lang="ru">' in russian.text
        assert "Ссылка недействительна" in russian.text
    polish = await client.get("/u/nonsense", headers={"accept-language": "pl"})
    assert "Nieprawidłowy link" in polish.text
    other = await client.get("/u/nonsense", headers={"accept-language": "de"})
    assert '<html lang="en">' in other.text


async def test_the_log_filters_and_pages(
    database: Database, program_id: int, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATRON_SMTP_URL", raising=False)
    members = [await enrol(database, program_id, external_id=f"m{n}") for n in range(3)]
    for member_id in members:
        await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)
    first = (await client.get("/api/v1/messages", params={"limit": 2})).json()
    assert [m["member_id"] for m in first["items"]] == members[::-1][:2]
    assert first["waiting"] == {"email": "3 queued: PATRON_SMTP_URL is not set"}
    rest = (
        await client.get("/api/v1/messages", params={"limit": 2, "after": first["next_after"]})
    ).json()
    assert [m["member_id"] for m in rest["items"]] == [members[0]]
    assert rest["next_after"] is None
    by_cursor = await client.get(
        "/api/v1/messages", params={"limit": 2, "cursor": first["next_cursor"]}
    )
    assert by_cursor.json() == rest

    async def get(params: dict[str, Any]) -> httpx.Response:
        return await client.get("/api/v1/messages", params=params)

    assert await assert_each_once(get, key="member_id") == members[::-1]
    bad = await client.get("/api/v1/messages", params={"status": "lost"})
    assert bad.status_code == 422
    assert (await client.get("/api/v1/messages", params={"status": "sent"})).json()["items"] == []
