"""The console's support tickets (``/admin/tickets``): the queue (open and waiting by default,
one status, or only those past the 24-hour target), one ticket's conversation, a staff reply
(the first response; a second submit of the same form adds nothing) and status moves along the
ticket's machine (a refused move changes nothing), each audited with the user. Staff and
admins alike. On both databases."""

from __future__ import annotations

from contextlib import aclosing
from datetime import timedelta

from sqlalchemy import select

from patron.audit.models import AuditEntry
from patron.kit.time import utcnow
from patron.support import service as ticket_service
from patron.support.states import TicketChannel, TicketSource, TicketStatus
from tests.web.conftest import Console, form_token


async def _ticket(console: Console, subject: str, *, hours_ago: float = 0) -> int:
    async with console.database.write() as session:
        opened = await ticket_service.open_ticket(
            session,
            member_id=None,
            channel=TicketChannel.EMAIL,
            category="other",
            subject=subject,
            text="The coupon did not work at the till.",
            source=TicketSource.STAFF,
            source_ref=None,
            contact="ola@example.com",
            now=utcnow() - timedelta(hours=hours_ago),
        )
    return opened.ticket.id


async def _state(console: Console, ticket_id: int) -> tuple[str, int, bool]:
    async with console.database.read() as session:
        ticket = await ticket_service.get_ticket(session, ticket_id=ticket_id, now=utcnow())
    return ticket.status.value, len(ticket.messages), ticket.first_response_at is not None


async def test_the_queue_and_its_filters(console: Console) -> None:
    fresh = await _ticket(console, "Fresh question")
    late = await _ticket(console, "Old complaint", hours_ago=30)
    client, _ = await console.logged_in("staff")
    async with aclosing(client):
        queue = await client.get("/admin/tickets?lang=en")
        assert queue.status_code == 200
        assert "Fresh question" in queue.text
        assert "Old complaint" in queue.text
        assert "late" in queue.text
        breached = await client.get("/admin/tickets?breached=1")
        assert "Old complaint" in breached.text
        assert "Fresh question" not in breached.text
        resolved = await client.get("/admin/tickets?status=resolved")
        assert "No tickets here." in resolved.text
        russian = await client.get(f"/admin/tickets/{late}?lang=ru")
        assert "Переписка" in russian.text
        assert "просрочено" in russian.text
        missing = await client.get("/admin/tickets/999999")
        assert missing.status_code == 404
    assert (await _state(console, fresh))[0] == "open"


async def test_staff_reply_once_and_move_the_status(console: Console) -> None:
    ticket_id = await _ticket(console, "Where are my points?")
    client, token = await console.logged_in("staff")
    async with aclosing(client):
        page = await client.get(f"/admin/tickets/{ticket_id}")
        key = page.text.split('name="key" value="')[1].split('"')[0]
        reply = {"csrf_token": token, "key": key, "text": "They arrive after 14 days."}
        first = await client.post(f"/admin/tickets/{ticket_id}/reply", data=reply)
        assert first.status_code == 303
        assert first.headers["location"].endswith("notice=replied#conversation")
        again = await client.post(f"/admin/tickets/{ticket_id}/reply", data=reply)
        assert again.status_code == 303
        assert await _state(console, ticket_id) == ("open", 1, True)
        empty = await client.post(
            f"/admin/tickets/{ticket_id}/reply", data={"csrf_token": token, "text": "  "}
        )
        assert empty.headers["location"].endswith("notice=empty")
        no_token = await client.post(f"/admin/tickets/{ticket_id}/reply", data={"text": "forged"})
        assert no_token.status_code == 403
        shown = await client.get(f"/admin/tickets/{ticket_id}")
        assert "They arrive after 14 days." in shown.text
        resolved = await client.post(
            f"/admin/tickets/{ticket_id}/status", data={"csrf_token": token, "status": "resolved"}
        )
        assert resolved.headers["location"].endswith("notice=moved")
        closed = await client.post(
            f"/admin/tickets/{ticket_id}/status", data={"csrf_token": token, "status": "closed"}
        )
        assert closed.headers["location"].endswith("notice=moved")
        refused = await client.post(
            f"/admin/tickets/{ticket_id}/status", data={"csrf_token": token, "status": "open"}
        )
        assert refused.headers["location"].endswith("notice=refused")
        late_reply = {"csrf_token": token, "key": "other", "text": "One more thing"}
        after = await client.post(f"/admin/tickets/{ticket_id}/reply", data=late_reply)
        assert after.headers["location"].endswith("notice=closed")
        page = await client.get(f"/admin/tickets/{ticket_id}")
        assert 'action="/admin/tickets/' + str(ticket_id) + '/reply"' not in page.text
        assert form_token(page.text)  # the logout form still carries the session's token
    assert await _state(console, ticket_id) == (TicketStatus.CLOSED.value, 1, True)
    async with console.database.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.target, AuditEntry.user_id)
                .where(AuditEntry.target == f"ticket:{ticket_id}")
                .order_by(AuditEntry.id)
            )
        ).all()
    staff = console.user_ids["staff"]
    target = f"ticket:{ticket_id}"
    assert [tuple(row) for row in rows] == [
        ("tickets.add_message", target, staff),
        ("tickets.add_message", target, staff),  # the replayed form: audited, nothing added
        ("tickets.transition", target, staff),
        ("tickets.transition", target, staff),
    ]
