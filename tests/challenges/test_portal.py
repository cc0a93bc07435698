"""The member portal's home page and the console's member page show the member's challenges
and badges, in the page's language."""

from __future__ import annotations

from contextlib import aclosing

from patron.kit.time import utcnow
from patron.programs import service as program_service
from tests.challenges.setup import buy, dispatch, enrol, program_text
from tests.web.conftest import Console
from tests.web.test_portal import _portal, _text


async def test_home_shows_progress_and_badges(console: Console) -> None:
    now = utcnow()
    async with console.database.write() as session:
        applied = await program_service.apply_program(
            session, text=program_text(), created_by="test", now=now
        )
    member_id = await enrol(console.database, applied.program_id, "ann", now)
    for n in range(5):
        await buy(console.database, member_id, f"p{n}", now)
    await dispatch(console.database, now)
    client, _token = await _portal(console, member_id)
    async with aclosing(client):
        home = _text((await client.get("/portal?lang=en")).text)
        assert '<ul class="perks" id="badges"><li>Coffee lover</li></ul>' in home
        assert "Coffee five times this month</span>: <strong>completed</strong>" in home
        assert "A purchase every week for four weeks</span>: 1 of 4 weeks in a row" in home
        assert "Review three products</span>: 0 of 3" in home
        polish = _text((await client.get("/portal?lang=pl")).text)
        assert "<li>Kawosz</li>" in polish
        assert "1 z 4 tygodni z rzędu" in polish
        russian = _text((await client.get("/portal?lang=ru")).text)
        assert "Ваши значки" in russian
        assert "0 из 3" in russian


async def test_home_without_challenges_shows_no_section(console: Console) -> None:
    now = utcnow()
    async with console.database.read() as session:
        active = await program_service.get_active_program(session)
    member_id = await enrol(console.database, active.program_id, "bob", now)
    client, _token = await _portal(console, member_id)
    async with aclosing(client):
        home = (await client.get("/portal")).text
        assert 'id="challenges"' not in home


async def test_the_console_member_page_shows_progress_and_badges(console: Console) -> None:
    now = utcnow()
    async with console.database.write() as session:
        applied = await program_service.apply_program(
            session, text=program_text(), created_by="test", now=now
        )
    member_id = await enrol(console.database, applied.program_id, "cid", now)
    for n in range(5):
        await buy(console.database, member_id, f"q{n}", now)
    await dispatch(console.database, now)
    client, _token = await console.logged_in("staff")
    async with aclosing(client):
        page = _text((await client.get(f"/admin/members/{member_id}?lang=en")).text)
        assert '<ul id="member-badges"><li>Coffee lover' in page
        assert "Coffee five times this month</span>: <strong>completed</strong>" in page
        assert "Review three products</span>: 0 of 3" in page
        polish = _text((await client.get(f"/admin/members/{member_id}?lang=pl")).text)
        assert "Odznaki" in polish
        assert "<li>Kawosz" in polish
