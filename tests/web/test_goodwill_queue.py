"""The tickets queue's list of goodwill credits waiting for an admin's approval, across
tickets (``/admin/tickets?goodwill=waiting``): the queue says how many wait; staff see the
list without buttons; an admin approves or rejects from it (the ticket page's own routes,
back to the list), audited; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from contextlib import aclosing

from patron.kit.time import utcnow
from patron.support import service as ticket_service
from tests.web.conftest import Console
from tests.web.test_portal import _member
from tests.web.test_portal_surveys import _available
from tests.web.test_ticket_goodwill_console import _audit, _key, _ticket


async def _ask(console: Console, ticket_id: int, points: int) -> int:
    """A staff user's goodwill request above the approval size (500): it waits; its id."""
    staff, token = await console.logged_in("staff")
    async with aclosing(staff):
        page = await staff.get(f"/admin/tickets/{ticket_id}")
        form = {"csrf_token": token, "key": _key(page.text), "points": str(points),
                "reason": f"Sorry for ticket {ticket_id}"}  # fmt: skip
        answer = await staff.post(f"/admin/tickets/{ticket_id}/goodwill", data=form)
        assert answer.headers["location"].endswith("notice=waiting#goodwill")
    async with console.database.read() as session:
        detail = await ticket_service.get_ticket(session, ticket_id=ticket_id, now=utcnow())
    return next(c.id for c in detail.goodwill if c.status.value == "pending_approval")


async def test_the_queue_lists_waiting_goodwill_and_an_admin_decides_there(
    console: Console,
) -> None:
    greta = await _member(console, "Q-1", "Greta", 0)
    hans = await _member(console, "Q-2", "Hans", 0)
    first = await _ticket(console, "Broken mug", greta)
    second = await _ticket(console, "Cold coffee", hans)
    staff, staff_token = await console.logged_in("staff")
    admin, token = await console.logged_in("admin")
    async with aclosing(staff), aclosing(admin):
        none_yet = await admin.get("/admin/tickets?goodwill=waiting&lang=en")
        queue_before = await admin.get("/admin/tickets?lang=en")
        one = await _ask(console, first, 600)
        two = await _ask(console, second, 700)
        queue = await staff.get("/admin/tickets?lang=en")
        queue_ru = await staff.get("/admin/tickets?lang=ru")
        staff_list = await staff.get("/admin/tickets?goodwill=waiting&lang=en")
        admin_list = await admin.get("/admin/tickets?goodwill=waiting&lang=en")
        refused = await staff.post(
            f"/admin/tickets/{first}/goodwill/{one}/approve",
            data={"csrf_token": staff_token, "back": "queue"},
        )
        approved = await admin.post(
            f"/admin/tickets/{first}/goodwill/{one}/approve",
            data={"csrf_token": token, "back": "queue"},
        )
        rejected = await admin.post(
            f"/admin/tickets/{second}/goodwill/{two}/reject",
            data={"csrf_token": token, "back": "queue"},
        )
        other_way = await admin.post(
            f"/admin/tickets/{second}/goodwill/{two}/approve",
            data={"csrf_token": token, "back": "queue"},
        )
        after = await admin.get("/admin/tickets?goodwill=waiting&notice=approved&lang=en")
        queue_after = await admin.get("/admin/tickets?lang=en")
    assert "No goodwill waits for approval." in none_yet.text
    assert "goodwill=waiting" not in queue_before.text  # nothing waits: no link
    assert "2 goodwill credits wait for an admin's approval" in queue.text
    assert "2 компенсации ждут одобрения администратора" in queue_ru.text
    # the oldest first, each with its ticket, member, points and who asked
    rows = re.findall(r'<tr id="goodwill-(\d+)">', admin_list.text)
    assert rows == [str(one), str(two)]
    assert f'href="/admin/tickets/{first}#goodwill"' in admin_list.text
    assert f'href="/admin/members/{hans}"' in admin_list.text
    assert "Sorry for ticket" in staff_list.text
    assert "/approve" not in staff_list.text  # staff see no buttons
    assert f'action="/admin/tickets/{first}/goodwill/{one}/approve"' in admin_list.text
    assert refused.status_code == 403
    assert approved.headers["location"] == "/admin/tickets?goodwill=waiting&notice=approved"
    assert rejected.headers["location"] == "/admin/tickets?goodwill=waiting&notice=rejected"
    assert other_way.headers["location"] == "/admin/tickets?goodwill=waiting&notice=decided"
    assert "Approved: the points are credited to the member." in after.text
    assert "No goodwill waits for approval." in after.text
    assert "goodwill=waiting" not in queue_after.text
    assert await _available(console, greta) == 600
    assert await _available(console, hans) == 0
    admin_id = console.user_ids["admin"]
    assert ("tickets.approve_goodwill", admin_id, True) in await _audit(console, first)
    assert ("tickets.reject_goodwill", admin_id, True) in await _audit(console, second)
