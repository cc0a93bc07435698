"""The console's message log (``/admin/messages``, staff and admin): newest first, why a
channel waits, filters by status, kind and member, older pages; on both databases."""

from __future__ import annotations

import re
from contextlib import aclosing

import pytest

from patron.programs import service as program_service
from patron.web.routes import messages as messages_route
from tests.notifications.conftest import dispatch, emit_event, enrol, tier_up
from tests.web.conftest import Console


async def _three_messages(console: Console) -> list[int]:
    """Three tier-change emails: two queued (no SMTP server set), one skipped (no consent)."""
    async with console.database.read() as session:
        program_id = (await program_service.get_active_program(session)).program_id
    members = [
        await enrol(console.database, program_id, external_id="m1", email="anna@example.com"),
        await enrol(console.database, program_id, external_id="m2", email="olga@example.com"),
        await enrol(console.database, program_id, external_id="m3", consent=False),
    ]
    for member_id in members:
        await emit_event(console.database, tier_up(member_id), program_id)
    await dispatch(console.database)
    return members


async def test_staff_read_the_log_with_filters_and_pages(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATRON_SMTP_URL", raising=False)
    monkeypatch.setattr(messages_route, "SHOWN", 2)
    first, second, third = await _three_messages(console)
    client, _ = await console.logged_in("staff")
    async with aclosing(client):
        page = await client.get("/admin/messages?lang=en")
        assert page.status_code == 200
        assert "The email channel cannot send now: 2 queued: PATRON_SMTP_URL is not set" in (
            page.text
        )
        shown = re.findall(r'href="/admin/members/(\d+)"', page.text)
        assert shown == [str(third), str(second)]  # newest first, two a page
        older = re.search(r'href="/admin/messages\?([^"]+)">Older messages', page.text)
        assert older is not None
        rest = await client.get("/admin/messages?" + older.group(1).replace("&amp;", "&"))
        assert re.findall(r'href="/admin/members/(\d+)"', rest.text) == [str(first)]
        assert "Older messages" not in rest.text
        skipped = await client.get("/admin/messages?status=skipped_no_consent&lang=ru")
        assert re.findall(r'href="/admin/members/(\d+)"', skipped.text) == [str(third)]
        assert "Пропущено: нет согласия" in skipped.text
        one = await client.get(f"/admin/messages?member={first}&kind=tier_changed&lang=en")
        assert re.findall(r'href="/admin/members/(\d+)"', one.text) == [str(first)]
        assert "anna@example.com" in one.text
        none = await client.get("/admin/messages?kind=portal_login&lang=en")
        assert "No messages." in none.text
        # a filter it does not know shows everything, as no filter does
        odd = await client.get("/admin/messages?status=lost&member=x")
        assert odd.status_code == 200
    anonymous = console.client()
    async with aclosing(anonymous):
        assert (await anonymous.get("/admin/messages")).status_code == 303
