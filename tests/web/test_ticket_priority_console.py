"""A ticket's priority set from the console (``POST /admin/tickets/{id}/priority``): the
queue's order follows it, an unknown value or a closed ticket changes nothing, CSRF, the
audit row with the user; on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import aclosing

from sqlalchemy import select

from patron.audit.models import AuditEntry
from patron.kit.time import utcnow
from patron.support import service as ticket_service
from patron.support.states import TicketPriority, TicketStatus
from tests.web.conftest import Console
from tests.web.test_ticket_goodwill_console import _ticket


async def _priority(console: Console, ticket_id: int) -> TicketPriority:
    async with console.database.read() as session:
        found = await ticket_service.get_ticket(session, ticket_id=ticket_id, now=utcnow())
    return found.priority


async def test_staff_set_the_priority_and_the_queue_follows(console: Console) -> None:
    older = await _ticket(console, "Older question", None)
    newer = await _ticket(console, "Urgent question", None)
    staff, token = await console.logged_in("staff")
    url = f"/admin/tickets/{newer}/priority"
    async with aclosing(staff):
        page = await staff.get(f"/admin/tickets/{newer}?lang=en")
        before = (await staff.get("/admin/tickets?lang=en")).text
        forged = await staff.post(url, data={"csrf_token": "forged", "priority": "urgent"})
        unknown = await staff.post(url, data={"csrf_token": token, "priority": "panic"})
        done = await staff.post(url, data={"csrf_token": token, "priority": "urgent"})
        after = (await staff.get("/admin/tickets?lang=en")).text
        shown = await staff.get(done.headers["location"] + "&lang=en")
    assert f'action="{url}"' in page.text
    assert before.index("Older question") < before.index("Urgent question")  # the oldest first
    assert forged.status_code == 403
    assert unknown.headers["location"] == f"/admin/tickets/{newer}?notice=refused"
    assert done.headers["location"] == f"/admin/tickets/{newer}?notice=prioritised"
    assert await _priority(console, newer) is TicketPriority.URGENT
    assert await _priority(console, older) is TicketPriority.NORMAL
    assert after.index("Urgent question") < after.index("Older question")
    assert "The priority is set." in shown.text
    assert '<option value="urgent" selected>Urgent</option>' in shown.text
    async with console.database.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.target, AuditEntry.user_id).where(
                    AuditEntry.action == "tickets.set_priority"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("tickets.set_priority", f"ticket:{newer}", console.user_ids["staff"])
    ]


async def test_a_closed_ticket_keeps_its_priority(console: Console) -> None:
    ticket_id = await _ticket(console, "Done", None)
    async with console.database.write() as session:
        for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            await ticket_service.transition(
                session, ticket_id=ticket_id, status=status, actor="test", now=utcnow()
            )
    admin, token = await console.logged_in("admin")
    async with aclosing(admin):
        answer = await admin.post(
            f"/admin/tickets/{ticket_id}/priority", data={"csrf_token": token, "priority": "high"}
        )
    assert answer.headers["location"] == f"/admin/tickets/{ticket_id}?notice=closed"
    assert await _priority(console, ticket_id) is TicketPriority.NORMAL
