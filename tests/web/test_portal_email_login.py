"""A member logs in to the portal with a link they ask for by email (``/portal/login``): the
request emits ``members.login_requested`` (never the link), the worker's handler makes the
link and the message, the sender delivers it to a real SMTP server (aiosmtpd), the link opens
the portal, and the log keeps no usable link once the message has left. The page answers the
same for an email that belongs to nobody, refuses a form without its CSRF token, and limits
requests per email. On both databases."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import OutboxEvent
from patron.kit.time import utcnow
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.notifications.models import Message
from patron.notifications.schemas import REDACTED_BODY
from patron.notifications.sender import send_due
from patron.programs.service import get_active_program
from patron.worker import registry
from tests.notifications.conftest import PUBLIC, Inbox
from tests.web.conftest import Console, form_token

SENT = "If this email belongs to a member, a login link is on its way."
LINK = re.compile(re.escape(PUBLIC) + r"(/portal/login/[A-Za-z0-9_-]+)")


async def _enrol(console: Console, external_id: str, email: str | None) -> int:
    """A member without any marketing consent: a login link is sent all the same."""
    async with console.database.write() as session:
        active = await get_active_program(session)
        member = await member_service.enrol_member(
            session,
            program_id=active.program_id,
            data=MemberCreate(external_id=external_id, name="Anna", email=email, language="en"),
            now=utcnow(),
        )
    return member.id


async def _ask(client: httpx.AsyncClient, email: str) -> httpx.Response:
    page = await client.get("/portal/login")
    assert page.status_code == 200
    return await client.post(
        "/portal/login", data={"email": email, "csrf_token": form_token(page.text)}
    )


async def _requests(console: Console) -> list[dict[str, Any]]:
    async with console.database.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.type == "members.login_requested")
            .order_by(OutboxEvent.id)
        )
        return [dict(row) for row in rows]


async def _deliver(console: Console) -> None:
    report = await dispatch_pending(console.database, registry.handlers(), now=utcnow())
    assert report.failed == 0
    await send_due(console.database, utcnow())


async def test_a_link_asked_for_by_email_opens_the_portal(console: Console, inbox: Inbox) -> None:
    member_id = await _enrol(console, "anna", "anna@example.com")
    client = console.client()
    answer = await _ask(client, "Anna@Example.COM")  # as typed on a phone
    assert answer.status_code == 200
    assert SENT in answer.text
    assert await _requests(console) == [{"member_id": member_id, "channel": "email"}]
    await _deliver(console)
    logins = [m for to, m in inbox.messages if m["Subject"] == "Your login link"]
    assert len(logins) == 1
    assert [to for to, m in inbox.messages if m in logins] == [["anna@example.com"]]
    body = logins[0].get_body(preferencelist=("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, body.get_content()
    # the log keeps no usable link once the message has left
    async with console.database.read() as session:
        logged = (
            await session.execute(
                select(Message.status, Message.body_text, Message.body_html).where(
                    Message.kind == "portal_login"
                )
            )
        ).one()
    assert tuple(logged) == ("sent", REDACTED_BODY, None)
    # the link works once, as a link from the till does
    path = found.group(1)
    page = await client.get(path)
    used = await client.post(path, data={"csrf_token": form_token(page.text)})
    assert used.status_code == 303
    assert used.headers["location"] == "/portal"
    home = await client.get("/portal")
    assert home.status_code == 200
    assert "Anna" in home.text
    again = console.client()
    page = await again.get(path)
    refused = await again.post(path, data={"csrf_token": form_token(page.text)})
    assert refused.status_code == 401


async def test_an_unknown_email_gets_the_same_answer_and_nothing_is_sent(
    console: Console, inbox: Inbox
) -> None:
    await _enrol(console, "anna", "anna@example.com")
    await _enrol(console, "no-email", None)
    answer = await _ask(console.client(), "nobody@example.com")
    assert answer.status_code == 200
    assert SENT in answer.text
    assert await _requests(console) == []
    await _deliver(console)
    assert [m for _, m in inbox.messages if m["Subject"] == "Your login link"] == []


async def test_an_erased_member_gets_no_link(console: Console, inbox: Inbox) -> None:
    from patron.privacy import service as privacy_service

    member_id = await _enrol(console, "gone", "gone@example.com")
    async with console.database.write() as session:
        await privacy_service.erase_member(session, member_id=member_id, now=utcnow())
    await _ask(console.client(), "gone@example.com")
    assert await _requests(console) == []


async def test_a_form_without_its_token_is_refused(console: Console) -> None:
    await _enrol(console, "anna", "anna@example.com")
    client = console.client()
    refused = await client.post("/portal/login", data={"email": "anna@example.com"})
    assert refused.status_code == 403
    assert await _requests(console) == []


async def test_requests_are_limited_per_email(console: Console) -> None:
    await _enrol(console, "anna", "anna@example.com")
    client = console.client()
    for _ in range(3):
        assert (await _ask(client, "anna@example.com")).status_code == 200
    limited = await _ask(client, "ANNA@example.com")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert len(await _requests(console)) == 3
    async with console.database.read() as session:
        events = await session.scalar(
            select(func.count()).where(OutboxEvent.type == "members.login_requested")
        )
    assert events == 3


@pytest.mark.parametrize(
    ("language", "subject"), [("ru", "Ссылка для входа"), ("pl", "Link do logowania")]
)
async def test_the_email_is_in_the_members_language(
    console: Console, inbox: Inbox, language: str, subject: str
) -> None:
    async with console.database.write() as session:
        active = await get_active_program(session)
        await member_service.enrol_member(
            session,
            program_id=active.program_id,
            data=MemberCreate(external_id="m", email="m@example.com", language=language),
            now=utcnow(),
        )
    await _ask(console.client(), "m@example.com")
    await _deliver(console)
    assert [m["Subject"] for _, m in inbox.messages if m["Subject"] == subject] == [subject]
