"""The referral link's landing page (``/join?ref=CODE``) and the funnel's first step,
``invited``: distinct visitors (one per member and ``patron_visitor`` cookie), in the
member's portal funnel, their ``GET /members/{id}/referral`` and the program's referral KPIs;
an unknown code records nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from contextlib import aclosing

from sqlalchemy import func, select

from patron.programs.service import get_active_program
from patron.referrals import service as referral_service
from patron.referrals.models import ReferralVisit
from patron.web.routes.portal_join import VISITOR_COOKIE
from tests.web.conftest import Console
from tests.web.test_portal import _member, _portal, _text


async def _referral(console: Console, member_id: int) -> referral_service.schemas.MemberReferral:
    async with console.database.read() as session:
        active = await get_active_program(session)
        mine = await referral_service.member_referral(session, active=active, member_id=member_id)
    assert mine is not None
    return mine


async def test_each_visitor_counts_once_in_the_funnel(console: Console) -> None:
    referrer = await _member(console, "J-1", "Julia", 0)
    other = await _member(console, "J-2", "Karl", 0)
    code = (await _referral(console, referrer)).code
    first, second = console.client(), console.client()
    async with aclosing(first), aclosing(second):
        page = await first.get(f"/join?ref={code.lower()}&lang=en")  # any case
        again = await first.get(f"/join?ref={code}")  # the same visitor: counted once
        other_visitor = await second.get(f"/join?ref={code}&lang=ru")
        unknown = await second.get("/join?ref=NOSUCHCODE&lang=en")
        bare = await second.get("/join")
    assert page.status_code == 200
    assert f'<strong id="referral-code">{code}</strong>' in page.text
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{VISITOR_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert again.status_code == 200
    assert "Вас приглашают" in other_visitor.text
    assert unknown.status_code == 200
    assert "referral-code" not in unknown.text
    assert "not complete or no longer works" in unknown.text
    assert bare.status_code == 200
    mine = await _referral(console, referrer)
    assert mine.invited == 2
    assert (await _referral(console, other)).invited == 0
    async with console.database.read() as session:
        active = await get_active_program(session)
        kpis = await referral_service.kpis(session, program_id=active.program_id)
        rows = await session.scalar(select(func.count()).select_from(ReferralVisit))
        digests = set((await session.scalars(select(ReferralVisit.visitor_digest))).all())
    assert kpis.invited == 2
    assert rows == 2
    visitor = cookie.split(";")[0].split("=", 1)[1]
    assert visitor not in digests  # only its SHA-256 is stored
    assert all(len(digest) == 64 for digest in digests)
    client, _ = await _portal(console, referrer)
    async with aclosing(client):
        funnel = _text((await client.get("/portal/referral?lang=en")).text)
    opened = re.search(r"Opened your link</dt><dd>(\d+)</dd>", funnel)
    assert opened is not None
    assert opened.group(1) == "2"
