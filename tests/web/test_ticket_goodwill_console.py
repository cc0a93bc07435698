"""The ticket screen's assignment and goodwill points (``/admin/tickets/{id}``): assigning to
a console user and to nobody, the queue's "mine" filter; goodwill within the program's caps,
a staff request above the approval size waiting for an admin (staff cannot approve), the
admin's approval crediting the points and a rejection giving none, a form submitted twice
crediting once; every step audited with the console user. On both databases."""

from __future__ import annotations

from contextlib import aclosing

from sqlalchemy import select

from patron.audit.models import AuditEntry
from patron.kit.time import utcnow
from patron.support import service as ticket_service
from patron.support.states import TicketChannel, TicketSource
from tests.web.browser import USERS
from tests.web.conftest import Console
from tests.web.test_portal import _member
from tests.web.test_portal_surveys import _available


async def _ticket(console: Console, subject: str, member_id: int | None) -> int:
    async with console.database.write() as session:
        opened = await ticket_service.open_ticket(
            session,
            member_id=member_id,
            channel=TicketChannel.EMAIL,
            category="delivery",
            subject=subject,
            text="The parcel came late.",
            source=TicketSource.STAFF,
            source_ref=None,
            contact=None if member_id else "ola@example.com",
            now=utcnow(),
        )
    return opened.ticket.id


async def _audit(console: Console, ticket_id: int) -> list[tuple[str, int | None, bool]]:
    async with console.database.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.user_id, AuditEntry.changed)
                .where(
                    AuditEntry.action.like("tickets.%"),
                    AuditEntry.action != "tickets.add_message",
                )
                .order_by(AuditEntry.id)
            )
        ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _key(page: str) -> str:
    return page.split('name="key" value="')[-1].split('"')[0]


async def test_assign_to_a_user_and_to_nobody_and_the_mine_filter(console: Console) -> None:
    mine = await _ticket(console, "Parcel late", None)
    other = await _ticket(console, "Wrong size", None)
    staff_email = USERS["staff"]
    client, token = await console.logged_in("staff")
    async with aclosing(client):
        page = await client.get(f"/admin/tickets/{mine}?lang=en")
        assert 'action="/admin/tickets/' + str(mine) + '/assign"' in page.text
        assert f'<option value="{staff_email}" selected>' in page.text  # me, by default
        done = await client.post(
            f"/admin/tickets/{mine}/assign", data={"csrf_token": token, "assignee": staff_email}
        )
        assert done.headers["location"].endswith("notice=assigned")
        unknown = await client.post(
            f"/admin/tickets/{other}/assign",
            data={"csrf_token": token, "assignee": "nobody@shop.example"},
        )
        assert unknown.headers["location"].endswith("notice=no_user#assignee")
        forged = await client.post(f"/admin/tickets/{other}/assign", data={"assignee": ""})
        assert forged.status_code == 403
        queue = await client.get("/admin/tickets?mine=1&lang=en")
        assert "Parcel late" in queue.text
        assert "Wrong size" not in queue.text
        assert 'id="mine" name="mine" type="checkbox" value="1" checked' in queue.text
        everyone = await client.get("/admin/tickets")
        assert "Wrong size" in everyone.text
        shown = await client.get(f"/admin/tickets/{mine}")
        assert f'<dd id="assignee-now">{staff_email}</dd>' in shown.text
        off = await client.post(
            f"/admin/tickets/{mine}/assign", data={"csrf_token": token, "assignee": ""}
        )
        assert off.headers["location"].endswith("notice=unassigned")
        assert "Parcel late" not in (await client.get("/admin/tickets?mine=1")).text
    async with console.database.read() as session:
        ticket = await ticket_service.get_ticket(session, ticket_id=mine, now=utcnow())
        untouched = await ticket_service.get_ticket(session, ticket_id=other, now=utcnow())
    assert ticket.assignee is None
    assert untouched.assignee is None
    assert [event.to_value for event in ticket.events if event.kind.value == "assignee"] == [
        staff_email,
        None,
    ]
    staff = console.user_ids["staff"]
    assert await _audit(console, mine) == [
        ("tickets.assign", staff, True),
        ("tickets.assign", staff, True),
    ]


async def test_goodwill_above_the_threshold_waits_for_an_admin(console: Console) -> None:
    member_id = await _member(console, "G-1", "Greta", 0)
    ticket_id = await _ticket(console, "Broken mug", member_id)
    page_url = f"/admin/tickets/{ticket_id}"
    staff, staff_token = await console.logged_in("staff")
    admin, admin_token = await console.logged_in("admin")
    async with aclosing(staff), aclosing(admin):
        page = await staff.get(f"{page_url}?lang=en")
        assert "At most 1,000 points per ticket" in page.text
        small = {"csrf_token": staff_token, "key": _key(page.text), "points": "200",
                 "reason": "Sorry"}  # fmt: skip
        given = await staff.post(f"{page_url}/goodwill", data=small)
        assert given.headers["location"].endswith("notice=given#goodwill")
        again = await staff.post(f"{page_url}/goodwill", data=small)  # the same form again
        assert again.headers["location"].endswith("notice=given#goodwill")
        assert await _available(console, member_id) == 200
        # above the approval size (500): stored, waiting, no points
        page = await staff.get(page_url)
        big = {"csrf_token": staff_token, "key": _key(page.text), "points": "600",
               "reason": "Broken twice"}  # fmt: skip
        waiting = await staff.post(f"{page_url}/goodwill", data=big)
        assert waiting.headers["location"].endswith("notice=waiting#goodwill")
        assert await _available(console, member_id) == 200
        async with console.database.read() as session:
            detail = await ticket_service.get_ticket(session, ticket_id=ticket_id, now=utcnow())
        pending = next(c for c in detail.goodwill if c.status.value == "pending_approval")
        decide = f"{page_url}/goodwill/{pending.id}"
        staff_view = await staff.get(f"{page_url}?lang=en")
        assert "waiting for an admin" in staff_view.text
        assert f'action="{decide}/approve"' not in staff_view.text
        # staff cannot approve (403), nothing credited
        refused = await staff.post(f"{decide}/approve", data={"csrf_token": staff_token})
        assert refused.status_code == 403
        assert await _available(console, member_id) == 200
        # the waiting request counts against the per-ticket cap: 200 + 600 + 300 > 1000
        page = await staff.get(page_url)
        over = {"csrf_token": staff_token, "key": _key(page.text), "points": "300",
                "reason": "More"}  # fmt: skip
        capped = await staff.post(f"{page_url}/goodwill", data=over)
        assert capped.headers["location"].endswith("notice=over_cap#goodwill")
        bad = await staff.post(f"{page_url}/goodwill", data={**over, "points": "-5", "key": "x"})
        assert bad.headers["location"].endswith("notice=no_points#goodwill")
        admin_view = await admin.get(f"{page_url}?lang=en")
        assert f'action="{decide}/approve"' in admin_view.text
        no_token = await admin.post(f"{decide}/approve", data={})
        assert no_token.status_code == 403
        approved = await admin.post(f"{decide}/approve", data={"csrf_token": admin_token})
        assert approved.headers["location"].endswith("notice=approved#goodwill")
        assert await _available(console, member_id) == 800
        other_way = await admin.post(f"{decide}/reject", data={"csrf_token": admin_token})
        assert other_way.headers["location"].endswith("notice=decided#goodwill")
        shown = await admin.get(f"{page_url}?lang=en")
        assert f'action="{decide}/approve"' not in shown.text
        assert "by boss@shop.example" in shown.text
    staff_id, admin_id = console.user_ids["staff"], console.user_ids["admin"]
    assert await _audit(console, ticket_id) == [
        ("tickets.credit_goodwill", staff_id, True),
        ("tickets.credit_goodwill", staff_id, False),  # the same form again: nothing more
        ("tickets.credit_goodwill", staff_id, False),  # waiting: no points yet
        ("tickets.approve_goodwill", admin_id, True),
    ]
    assert await _available(console, member_id) == 800


async def test_an_admin_rejects_and_gives_above_the_threshold_at_once(console: Console) -> None:
    member_id = await _member(console, "G-2", "Henryk", 0)
    ticket_id = await _ticket(console, "Missing points", member_id)
    walk_in = await _ticket(console, "Walk-in", None)
    page_url = f"/admin/tickets/{ticket_id}"
    staff, staff_token = await console.logged_in("staff")
    admin, admin_token = await console.logged_in("admin")
    async with aclosing(staff), aclosing(admin):
        page = await staff.get(page_url)
        ask = {"csrf_token": staff_token, "key": _key(page.text), "points": "700",
               "reason": "Late order"}  # fmt: skip
        assert (
            (await staff.post(f"{page_url}/goodwill", data=ask))
            .headers["location"]
            .endswith("notice=waiting#goodwill")
        )
        async with console.database.read() as session:
            detail = await ticket_service.get_ticket(session, ticket_id=ticket_id, now=utcnow())
        decide = f"{page_url}/goodwill/{detail.goodwill[0].id}"
        rejected = await admin.post(f"{decide}/reject", data={"csrf_token": admin_token})
        assert rejected.headers["location"].endswith("notice=rejected#goodwill")
        assert await _available(console, member_id) == 0
        # an admin's own credit above the approval size is given at once
        page = await admin.get(page_url)
        own = {"csrf_token": admin_token, "key": _key(page.text), "points": "700",
               "reason": "Late order"}  # fmt: skip
        given = await admin.post(f"{page_url}/goodwill", data=own)
        assert given.headers["location"].endswith("notice=given#goodwill")
        assert await _available(console, member_id) == 700
        # a ticket without a member: no form, and a forged post gives nothing
        walk_page = await staff.get(f"/admin/tickets/{walk_in}?lang=en")
        assert "The ticket has no member" in walk_page.text
        forged = {"csrf_token": staff_token, "key": "k", "points": "10", "reason": "x"}
        none = await staff.post(f"/admin/tickets/{walk_in}/goodwill", data=forged)
        assert none.headers["location"].endswith("notice=no_member#goodwill")
        russian = await admin.get(f"{page_url}?lang=ru")
        assert "Баллы компенсации" in russian.text
        assert "отклонено" in russian.text
