"""The program's own messages (``messages:``), sent by a campaign's deferred ``send_message``,
through the real outbox, every handler of the worker and a real SMTP server (aiosmtpd): in
the member's language (else the program's default), with the placeholders filled (the
member's name, the points, the campaign's name, the coupon the campaign issued), once per
application however often its handler runs, within the campaign's limit, and not at all,
visibly in the log, to a member without email consent. On a purchase and on a signup. The
program is the example of docs/campaigns.md, "Messages to members"."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from patron.campaigns.deferred import apply_deferred
from patron.campaigns.handlers import apply_on_event
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import EventEnvelope
from patron.notifications.models import Message
from patron.notifications.sender import send_due
from patron.programs import service as program_service
from patron.rewards.models import Coupon
from patron.worker import registry
from tests.campaigns.programs import buy_tea, messages_example
from tests.campaigns.triggers import payloads
from tests.notifications.conftest import NOW, PUBLIC, Inbox, enrol


async def _apply(database: Database) -> int:
    async with database.write() as session:
        applied = await program_service.apply_program(
            session, text=messages_example(), created_by="tests", now=NOW
        )
    return applied.program_id


async def _buy(database: Database, member: str, external_id: str, total: str) -> int:
    recorded = await buy_tea(database, external_id, member, total, occurred_at=NOW, now=NOW)
    return recorded.purchase.id


async def _run(database: Database) -> int:
    """Dispatch until nothing is left (a handler's events are dispatched next), then send."""
    while True:
        report = await dispatch_pending(database, registry.handlers(), now=NOW)
        assert (report.failed, report.errors) == (0, [])
        if report.events == 0:
            break
    return await send_due(database, NOW)


async def _campaign_messages(database: Database) -> list[tuple[int, str, str, str | None]]:
    async with database.read() as session:
        rows = await session.execute(
            select(Message.member_id, Message.status, Message.language, Message.last_error)
            .where(Message.kind == "campaign")
            .order_by(Message.id)
        )
        return [(int(m), str(s), str(lang), e) for m, s, lang, e in rows]


def _envelope(kind: str, program_id: int, member_id: int, data: dict[str, Any]) -> EventEnvelope:
    """An event as the dispatcher hands it to a handler: to run a handler again by hand."""
    return EventEnvelope(
        id=1,
        type=kind,
        version=1,
        program_id=program_id,
        member_id=member_id,
        occurred_at=NOW,
        data=data,
    )


def _campaign_emails(inbox: Inbox) -> dict[str, EmailMessage]:
    """The campaign's messages by recipient (each recipient at most one)."""
    found = [
        (recipients[0], email)
        for recipients, email in inbox.messages
        if str(email["Subject"]).endswith(("coupon", "купон"))
    ]
    assert len(found) == len(dict(found))
    return dict(found)


def _text(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\u00a0", " ").replace("\r\n", "\n")


def _html(email: EmailMessage) -> str:
    part = email.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


async def _coupon_of(database: Database, member_id: int) -> str:
    async with database.read() as session:
        codes = list(
            await session.scalars(select(Coupon.code).where(Coupon.member_id == member_id))
        )
    assert len(codes) == 1
    return str(codes[0])


async def test_a_purchase_campaign_sends_its_message_once_in_the_members_language(
    database: Database, inbox: Inbox
) -> None:
    program_id = await _apply(database)
    anna = await enrol(database, program_id, external_id="anna", language="en", name="Anna")
    jan = await enrol(
        database, program_id, external_id="jan", language="pl", name="Jan", email="jan@example.pl"
    )
    olga = await enrol(
        database, program_id, external_id="olga", name="Ольга", email="olga@example.com",
        consent=False,
    )  # fmt: skip
    first = await _buy(database, "anna", "a-1", "5000.00")
    await _buy(database, "anna", "a-2", "5000.00")  # the per-member limit: not applied again
    await _buy(database, "jan", "j-1", "5000.00")
    await _buy(database, "olga", "o-1", "5000.00")
    await _buy(database, "jan", "j-small", "100.00")  # below the threshold: nothing
    sent = await _run(database)  # Anna's two purchases also raised her tier: another email
    assert sent == len(inbox.messages) == 3

    by_recipient = _campaign_emails(inbox)
    assert sorted(by_recipient) == ["anna@example.com", "jan@example.pl"]
    anna_email = by_recipient["anna@example.com"]
    code = await _coupon_of(database, anna)
    assert anna_email["Subject"] == "Spring gift: your coupon"
    assert anna_email["Content-Language"] == "en"
    assert anna_email["List-Unsubscribe"].startswith(f"<{PUBLIC}/u/{anna}.email.")
    text = _text(anna_email)
    assert "Hello, Anna!" in text
    assert "Anna, thank you! You got 200 points.\n\nYour coupon: " in text
    assert f"Your coupon: {code} (10% off your next purchase)." in text
    assert f"Unsubscribe from these emails: {PUBLIC}/u/{anna}.email." in text
    html = _html(anna_email)
    assert "<p>Anna, thank you! You got 200 points.</p>" in html
    assert f"<p>Your coupon: {code} (10% off your next purchase).</p>" in html
    # the message has no Polish: Jan gets the program's default language, Russian
    jan_email = by_recipient["jan@example.pl"]
    assert jan_email["Subject"] == "Весенний подарок: ваш купон"
    assert jan_email["Content-Language"] == "ru"
    jan_code = await _coupon_of(database, jan)
    jan_text = _text(jan_email)
    assert "Здравствуйте, Jan!" in jan_text
    assert "Jan, спасибо за покупку! Вы получили 200 баллов." in jan_text
    assert f"Ваш купон: {jan_code} (10% off your next purchase)." in jan_text

    log = await _campaign_messages(database)
    assert log == [
        (anna, "sent", "en", None),
        (jan, "sent", "ru", None),
        (olga, "skipped_no_consent", "ru", "no email consent when queued"),
    ]
    # the deferred handler run again for Anna's purchase: a second event, still one message
    [due] = [
        d for d in await payloads(database, "purchases.effects_due") if d["purchase_id"] == first
    ]
    envelope = _envelope("purchases.effects_due", program_id, anna, due)
    async with database.write() as session:
        await apply_deferred(session, envelope)
    assert await _run(database) == 0
    assert len(_campaign_emails(inbox)) == 2
    assert len(inbox.messages) == sent
    assert await _campaign_messages(database) == log
    keys = [p["key"] for p in await payloads(database, "campaigns.message_due")]
    assert keys.count(f"deferred:{first}:campaign:spring-gift:0") == 2
    assert len(keys) == 4  # anna (twice), jan, olga


async def test_a_signup_campaign_sends_its_message_once(database: Database, inbox: Inbox) -> None:
    program_id = await _apply(database)
    member = await enrol(database, program_id, external_id="vera", name="Вера", welcome=True)
    await _run(database)
    subjects = sorted(str(email["Subject"]) for _, email in inbox.messages)
    assert subjects == [
        "Добро пожаловать в программу «Demo Store Rewards»",
        "Подарок от «Demo Store Rewards»",
    ]
    [gift] = [email for _, email in inbox.messages if email["Subject"].startswith("Подарок")]
    assert "Вера, вам начислено 100 баллов — «Добро пожаловать»." in _text(gift)
    [due] = await payloads(database, "campaigns.message_due")
    assert (due["key"], due["points"], due["purchase_id"], due["occurrence"]) == (
        f"deferred:{member}:signup:campaign:welcome:0", 100, None, "signup"
    )  # fmt: skip
    # the signup handler run again: the campaign is applied to that occurrence already
    [enrolled] = await payloads(database, "members.enrolled")
    envelope = _envelope("members.enrolled", program_id, member, enrolled)
    async with database.write() as session:
        await apply_on_event(session, envelope)
    assert await _run(database) == 0
    assert len(await payloads(database, "campaigns.message_due")) == 1
    assert [row[1] for row in await _campaign_messages(database)] == ["sent"]


async def test_a_name_with_a_line_separator_in_the_subject_is_sent_on_one_line(
    database: Database, inbox: Inbox
) -> None:
    """A member's name may hold U+2028 (the API refuses only C0 controls), and Python's email
    headers refuse every line break ``str.splitlines`` knows: a subject is rendered on one line
    (``render.py`` joins its words), so ``{name}`` in it cannot break the header or the
    sender's round."""
    text = messages_example().replace(
        'subject: {ru: "Подарок от «{program}»"}', 'subject: {ru: "{name}, подарок от «{program}»"}'
    )
    assert "{name}, подарок" in text
    async with database.write() as session:
        applied = await program_service.apply_program(
            session, text=text, created_by="tests", now=NOW
        )
    name = "Вера\u2028Bcc: someone@example.com"
    await enrol(database, applied.program_id, external_id="vera", name=name, welcome=True)
    await _run(database)
    subjects = sorted(str(email["Subject"]) for _, email in inbox.messages)
    assert "Вера Bcc: someone@example.com, подарок от «Demo Store Rewards»" in subjects
    assert all(len(recipients) == 1 for recipients, _ in inbox.messages)
    assert [row[1] for row in await _campaign_messages(database)] == ["sent"]
