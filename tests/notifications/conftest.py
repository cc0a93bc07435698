"""A real SMTP server (aiosmtpd, in a thread of its own) and helpers that drive the handlers
through the real outbox: the domains' own events are emitted (by the service that makes them,
or by ``emit_event`` for the ones whose cause is beside the point), then ``dispatch_pending``,
then the sender."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from patron.kit.db import Database
from patron.kit.dispatch import DispatchReport, dispatch_pending
from patron.kit.outbox import DomainEvent, OutboxEvent, emit
from patron.kit.time import utcnow
from patron.members import service as members_service
from patron.members.schemas import MemberCreate
from patron.notifications import handlers as notification_handlers
from patron.notifications.sender import send_due
from patron.programs.service import apply_program
from patron.tiers.events import TiersChanged
from tests.conftest import SEED_PROGRAM

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PUBLIC = "https://shop.example"


@dataclass
class Inbox:
    """What the SMTP server received; RCPT TO an address starting ``refuse`` gets 550,
    ``busy`` gets 451."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("refuse"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> Inbox:
    """The server, with Patron configured to send to it."""
    _, port = smtp_server
    monkeypatch.setenv("PATRON_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("PATRON_MAIL_FROM", "Demo Store <rewards@shop.example>")
    monkeypatch.setenv("PATRON_PUBLIC_URL", PUBLIC)
    return smtp_server[0]


@pytest.fixture
async def program_id(database: Database) -> int:
    async with database.write() as session:
        applied = await apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="tests", now=NOW
        )
    return applied.program_id


async def enrol(
    database: Database,
    program_id: int,
    *,
    external_id: str,
    language: str | None = "ru",
    email: str | None = "anna@example.com",
    consent: bool | None = True,
    name: str | None = "Анна",
    welcome: bool = False,
) -> int:
    """A member enrolled through the service. Its ``members.enrolled`` event is set aside as
    handled (a member who joined long ago) unless ``welcome``: then the welcome email is
    queued at the next dispatch."""
    consents = {} if consent is None else {"email": consent}
    data = MemberCreate.model_validate(
        {
            "external_id": external_id,
            "language": language,
            "email": email,
            "name": name,
            "consents": consents,
        }
    )
    async with database.write() as session:
        member = await members_service.enrol_member(
            session, program_id=program_id, data=data, now=NOW
        )
        if not welcome:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.member_id == member.id, OutboxEvent.type == "members.enrolled")
                .values(dispatched_at=NOW)
            )
    return member.id


async def emit_event(database: Database, event: DomainEvent, program_id: int) -> None:
    async with database.write() as session:
        await emit(session, event, program_id=program_id)


async def dispatch(database: Database) -> DispatchReport:
    report = await dispatch_pending(database, notification_handlers.handlers())
    assert report.errors == []
    return report


async def send(database: Database, now: datetime | None = None) -> int:
    return await send_due(database, now or utcnow())


def tier_up(member_id: int, to_tier: str = "silver") -> TiersChanged:
    return TiersChanged(
        member_id=member_id, from_tier="bronze", to_tier=to_tier, direction="up", reason="credit"
    )
