"""Events to email through the real outbox and a real SMTP server (aiosmtpd): the handler
queues a rendered message in the event's unit of work, the sender sends it, consent is
checked when queued and again when sent, and the log records every outcome."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from patron.feedback.events import SurveysInvited
from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent, OutboxHandlerRun
from patron.kit.time import utcnow
from patron.ledger.events import PointsExpiring
from patron.members import service as members_service
from patron.members.events import MemberErased
from patron.members.models import ConsentChannel, Member
from patron.notifications import service
from patron.notifications.models import Message
from patron.notifications.sender import MAX_SEND_ATTEMPTS, waiting
from patron.onboarding.service import import_members, read_members
from tests.notifications.conftest import (
    NOW,
    PUBLIC,
    Inbox,
    dispatch,
    emit_event,
    enrol,
    free_port,
    send,
    tier_up,
)


async def _messages(database: Database) -> list[Message]:
    async with database.read() as session:
        rows = list(await session.scalars(select(Message).order_by(Message.id)))
        session.expunge_all()
    return rows


def _text(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\u00a0", " ").replace("\u202f", " ")


def _html(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


async def test_a_tier_change_reaches_a_russian_member_in_russian(
    database: Database, program_id: int, inbox: Inbox
) -> None:
    member_id = await enrol(database, program_id, external_id="anna", language="ru")
    await emit_event(database, tier_up(member_id), program_id)

    await dispatch(database)
    [queued] = await _messages(database)
    assert (queued.status, queued.kind, queued.language) == ("queued", "tier_changed", "ru")
    assert await send(database) == 1

    [(recipients, email)] = inbox.messages
    assert recipients == ["anna@example.com"]
    assert email["To"] == "anna@example.com"
    assert email["From"] == "Demo Store <rewards@shop.example>"
    assert email["Subject"] == "Ваш новый уровень: Silver"
    assert email["Content-Language"] == "ru"
    body = _text(email)
    assert "Здравствуйте, Анна!" in body
    assert "Поздравляем! Вы достигли уровня «Silver» (был «Bronze»)" in body
    assert "в 1,25 раза больше баллов" in body
    assert "На вашем счёте 0 баллов." in body  # a fresh member: the plural of 0 is "баллов"
    assert "- priority_support" in body
    unsubscribe = email["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"{PUBLIC}/u/{member_id}.email.")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in body
    assert f'href="{unsubscribe}"' in _html(email)
    assert '<html lang="ru">' in _html(email)

    [sent] = await _messages(database)
    assert (sent.status, sent.attempts, sent.recipient) == ("sent", 1, "anna@example.com")
    assert sent.sent_at is not None
    assert await send(database) == 0  # nothing twice


async def test_a_member_without_consent_gets_nothing_and_the_log_says_so(
    database: Database, program_id: int, inbox: Inbox
) -> None:
    refused = await enrol(database, program_id, external_id="no", consent=False)
    never_asked = await enrol(database, program_id, external_id="never", consent=None)
    no_email = await enrol(database, program_id, external_id="nomail", email=None)
    for member_id in (refused, never_asked, no_email):
        await emit_event(database, tier_up(member_id), program_id)

    await dispatch(database)
    assert await send(database) == 0
    assert inbox.messages == []
    rows = await _messages(database)
    assert [(r.member_id, r.status, r.last_error) for r in rows] == [
        (refused, "skipped_no_consent", "no email consent when queued"),
        (never_asked, "skipped_no_consent", "no email consent when queued"),
        (no_email, "skipped_no_address", "the member has no email"),
    ]
    async with database.read() as session:
        page = await service.list_messages(session, member_id=refused)
    assert [(m.status, m.subject) for m in page.items] == [
        ("skipped_no_consent", "Ваш новый уровень: Silver")
    ]


async def test_consent_revoked_after_queueing_is_honoured_at_send_time(
    database: Database, program_id: int, inbox: Inbox
) -> None:
    member_id = await enrol(database, program_id, external_id="anna")
    await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)
    async with database.write() as session:
        await members_service.set_consent(
            session,
            member_id=member_id,
            channel=ConsentChannel.EMAIL,
            is_granted=False,
            source="test",
            now=utcnow(),
        )
    assert await send(database) == 1
    assert inbox.messages == []
    [row] = await _messages(database)
    assert (row.status, row.last_error) == ("skipped_no_consent", "no email consent when sent")


async def test_each_event_makes_one_message_however_often_it_is_handled(
    database: Database, program_id: int, inbox: Inbox
) -> None:
    member_id = await enrol(database, program_id, external_id="anna")
    await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)
    # a handler run again (at-least-once dispatch) finds its row
    async with database.write() as session:
        for run in await session.scalars(select(OutboxHandlerRun)):
            await session.delete(run)
        tier_events = select(OutboxEvent).where(OutboxEvent.type == "tiers.changed")
        for event in await session.scalars(tier_events):
            event.dispatched_at = None
    await dispatch(database)
    assert len(await _messages(database)) == 1
    await send(database)
    assert len(inbox.messages) == 1


async def test_without_smtp_settings_messages_wait_and_the_log_says_why(
    database: Database, program_id: int, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ["PATRON_SMTP_URL"]
    monkeypatch.delenv("PATRON_SMTP_URL")
    member_id = await enrol(database, program_id, external_id="anna")
    await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)
    assert await send(database) == 0
    assert waiting() == {"email": "PATRON_SMTP_URL is not set"}
    async with database.read() as session:
        page = await service.list_messages(session, waiting=waiting())
    assert page.waiting == {"email": "1 queued: PATRON_SMTP_URL is not set"}
    assert [m.status for m in page.items] == ["queued"]

    monkeypatch.setenv("PATRON_SMTP_URL", url)
    assert await send(database) == 1
    assert len(inbox.messages) == 1


async def test_a_transient_refusal_is_retried_with_backoff_and_a_permanent_one_fails(
    database: Database, program_id: int, inbox: Inbox
) -> None:
    busy = await enrol(database, program_id, external_id="busy", email="busy@example.com")
    refused = await enrol(database, program_id, external_id="ref", email="refuse@example.com")
    for member_id in (busy, refused):
        await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)
    now = utcnow()
    assert await send(database, now) == 2
    by_member = {row.member_id: row for row in await _messages(database)}
    assert by_member[refused].status == "failed"
    assert "550" in (by_member[refused].last_error or "")
    waiting_row = by_member[busy]
    assert (waiting_row.status, waiting_row.attempts) == ("queued", 1)
    assert "451" in (waiting_row.last_error or "")
    assert waiting_row.next_attempt_at == now + timedelta(minutes=1)
    assert await send(database, now + timedelta(seconds=59)) == 0  # not due yet
    later = now
    for attempt in range(2, MAX_SEND_ATTEMPTS + 1):
        later = later + timedelta(hours=7)
        assert await send(database, later) == 1, attempt
    row = {r.member_id: r for r in await _messages(database)}[busy]
    assert (row.status, row.attempts) == ("failed", MAX_SEND_ATTEMPTS)
    assert inbox.messages == []


async def test_an_unreachable_server_leaves_the_message_queued(
    database: Database, program_id: int, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATRON_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    member_id = await enrol(database, program_id, external_id="anna")
    await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)
    assert await send(database) == 1
    [row] = await _messages(database)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error


async def test_welcome_greets_new_members_but_not_imported_ones(
    database: Database, program_id: int, inbox: Inbox, tmp_path: Path
) -> None:
    polish = await enrol(
        database, program_id, external_id="p", language="pl", name="Ola", welcome=True
    )
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "external_id,name,email,language,consent_email\ni,Ian,ian@example.com,en,yes\n"
    )
    report = await import_members(database, read_members(customers), now=NOW)
    assert report.errors == []
    async with database.read() as session:
        imported = await session.scalar(select(Member.id).where(Member.external_id == "i"))
        enrolments = list(
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.type == "members.enrolled")
            )
        )
    assert [(e["member_id"], e["imported"]) for e in enrolments] == [
        (polish, False),
        (imported, True),
    ]
    await dispatch(database)
    await send(database)
    [(_, email)] = inbox.messages
    assert email["Subject"] == "Witamy w programie „Demo Store Rewards”"
    assert email["Content-Language"] == "pl"
    body = _text(email)
    assert "Dzień dobry, Ola!" in body
    assert "Za każde 1 000,00 RUB zakupów otrzymujesz 100 punktów." in body
    assert [r.member_id for r in await _messages(database)] == [polish]


async def test_points_expiring_and_survey_invitation(
    database: Database, program_id: int, inbox: Inbox
) -> None:
    russian = await enrol(database, program_id, external_id="ru", language="ru")
    english = await enrol(
        database, program_id, external_id="en", language="en", name="Bob", email="bob@example.com"
    )
    expiring = PointsExpiring(
        member_id=russian,
        points=2,
        expires_at=datetime(2026, 12, 30, 22, 30, tzinfo=UTC),
        days=3,
        external_id="ru",
        expires_on=date(2026, 12, 31),
    )
    await emit_event(database, expiring, program_id)
    invited = SurveysInvited(
        member_id=english,
        survey_key="after-purchase",
        invitation_id=7,
        path="/s/tok123",
        expires_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    await emit_event(database, invited, program_id)
    await dispatch(database)
    assert await send(database) == 2
    emails = {recipients[0]: email for recipients, email in inbox.messages}
    ru = emails["anna@example.com"]
    assert ru["Subject"] == "Через 3 дня сгорает 2 балла"
    # the date is the program's (Europe/Moscow): 22:30 UTC on the 30th is the 31st there
    assert "31 декабря 2026 г. (через 3 дня) сгорает 2 балла" in _text(ru)
    en = emails["bob@example.com"]
    assert en["Subject"].startswith("Tell us how we did")
    assert f"{PUBLIC}/s/tok123" in _text(en)
    assert f'href="{PUBLIC}/s/tok123"' in _html(en)
    assert "until April 1, 2026" in _text(en)


async def test_erasure_blanks_the_members_messages(
    database: Database, program_id: int, inbox: Inbox
) -> None:
    member_id = await enrol(database, program_id, external_id="anna")
    await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)
    await emit_event(database, MemberErased(member_id=member_id), program_id)
    await dispatch(database)
    assert await send(database) == 0
    [row] = await _messages(database)
    assert (row.status, row.recipient, row.body_text, row.subject) == (
        "skipped_no_address",
        None,
        "",
        "(erased)",
    )
