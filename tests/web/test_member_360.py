"""The member 360 view's every section, the search by RFM segment, the export and the erasure
from the console, and the dashboard's "what needs attention today" and pending points, over
HTTP on SQLite and PostgreSQL. The member is the privacy tests' (``tests/privacy``): a
member with data in every table, made through the API."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select, update

from patron.access import users as user_service
from patron.access.models import Role
from patron.api.app import create_app
from patron.audit.models import AuditEntry
from patron.feedback.models import Review
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.members.models import Member
from patron.members.service import get_member
from patron.support import service as ticket_service
from patron.support.states import TicketChannel, TicketSource
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.privacy.conftest import ENROLMENT, REVIEW_TEXT, Populated, populate
from tests.web.conftest import PASSWORD, USERS, Console

BASE = "http://127.0.0.1:8000"


async def _console(api: Api) -> Console:
    """The console on the API's database and program, with an admin and a staff user."""
    app = create_app(api.database.url)
    app.state.database = api.database
    ids: dict[str, int] = {}
    async with api.database.write() as session:
        for role, email in USERS.items():
            made = await user_service.create_user(
                session, email=email, role=Role(role), password=PASSWORD, now=utcnow()
            )
            ids[role] = made.id
    return Console(app=app, database=api.database, base_url=BASE, user_ids=ids)


def _text(page: str) -> str:
    """The page's text, tags dropped and spaces squeezed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


async def _audited(console: Console, action: str) -> list[tuple[str, str, bool, int | None]]:
    async with console.database.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        ).scalars()
        return [(row.actor, row.target, row.changed, row.user_id) for row in rows]


async def test_the_360_view_has_every_section(api: Api) -> None:
    made: Populated = await populate(api)
    console = await _console(api)
    staff, _ = await console.logged_in("staff")
    try:
        page = await staff.get(f"/admin/members/{made.member_id}?lang=en")
        russian = await staff.get(f"/admin/members/{made.member_id}?lang=ru")
    finally:
        await staff.aclose()
    assert page.status_code == 200
    text = _text(page.text)
    sections = (
        "Profile", "Consents", "Purchases", "Points ledger", "Coupons", "Tier history",
        "Tickets", "Reviews", "Survey answers", "Segment, value and churn risk",
    )  # fmt: skip
    for title in sections:
        assert f">{title}</h2>" in page.text, title
    assert made.coupon_code in text
    assert f'href="/admin/tickets/{made.ticket_id}"' in page.text
    assert "Card of Anna Petrova" in text
    assert REVIEW_TEXT in text
    assert "2 of 5" in text
    assert "1 reply" in text
    assert "nps: 3" in text  # the survey's score answer, and its text below
    assert "Phone me at" in text
    assert "RFM segment At risk" in text  # the segment the refresh stored, in words
    # staff neither export nor erase
    assert f'action="/admin/members/{made.member_id}/export"' not in page.text
    assert f'href="/admin/members/{made.member_id}/erase"' not in page.text
    assert "Ответы на опросы" in russian.text
    assert "Под угрозой ухода" in russian.text


async def test_the_search_filters_by_rfm_segment(api: Api) -> None:
    made = await populate(api)  # the member is stored in at_risk, the other in none
    console = await _console(api)
    staff, _ = await console.logged_in("staff")
    try:
        alone = await staff.get("/admin/members/results?segment=at_risk")
        with_text = await staff.get("/admin/members/results?segment=at_risk&q=anna")
        other_text = await staff.get("/admin/members/results?segment=at_risk&q=ivan")
        empty = await staff.get("/admin/members/results?segment=champion")
        unknown = await staff.get("/admin/members/results?segment=no-such-segment")
        picker = await staff.get("/admin/members?segment=at_risk&lang=pl")
    finally:
        await staff.aclose()
    assert f'href="/admin/members/{made.member_id}"' in alone.text
    assert f'href="/admin/members/{made.other_id}"' not in alone.text
    assert f'href="/admin/members/{made.member_id}"' in with_text.text
    assert "No member matches" in other_text.text  # Ivan is in no segment
    assert "No member is in this segment" in empty.text
    assert "<table" not in unknown.text  # an unknown segment is no filter: nothing typed
    assert '<option value="at_risk" selected>Zagrożeni odejściem</option>' in picker.text


async def test_an_admin_exports_the_apis_json_audited(api: Api) -> None:
    made = await populate(api)
    console = await _console(api)
    admin, token = await console.logged_in("admin")
    staff, staff_token = await console.logged_in("staff")
    url = f"/admin/members/{made.member_id}/export"
    try:
        page = await admin.get(f"/admin/members/{made.member_id}")
        assert f'action="{url}"' in page.text
        forged = await admin.post(url, data={"csrf_token": "forged"})
        refused = await staff.post(url, data={"csrf_token": staff_token})
        done = await admin.post(url, data={"csrf_token": token})
        missing = await admin.post("/admin/members/999999/export", data={"csrf_token": token})
    finally:
        await admin.aclose()
        await staff.aclose()
    assert (forged.status_code, refused.status_code, missing.status_code) == (403, 403, 404)
    assert done.status_code == 200
    assert done.headers["content-type"] == "application/json"
    assert done.headers["content-disposition"].startswith(
        f'attachment; filename="member-{made.member_id}-'
    )
    from_api = await api.call("GET", f"/members/{made.member_id}/export")
    exported, expected = json.loads(done.content), from_api.json()
    exported.pop("exported_at")
    expected.pop("exported_at")
    assert exported == expected
    assert exported["profile"]["name"] == ENROLMENT["name"]
    admin_id = console.user_ids["admin"]
    assert await _audited(console, "members.export") == [
        ("user", f"member:{made.member_id}", False, admin_id),
        ("key", f"member:{made.member_id}", False, None),
    ]


async def test_erasure_needs_the_card_number_and_is_audited(api: Api) -> None:
    made = await populate(api)
    console = await _console(api)
    admin, token = await console.logged_in("admin")
    staff, staff_token = await console.logged_in("staff")
    page_url = f"/admin/members/{made.member_id}"
    url = f"{page_url}/erase"
    try:
        assert f'href="{url}"' in (await admin.get(page_url)).text
        confirm = await admin.get(f"{url}?lang=pl")
        assert confirm.status_code == 200
        assert "Usuń na zawsze" in confirm.text
        assert (await staff.get(url)).status_code == 403
        assert (await staff.post(url, data={"csrf_token": staff_token})).status_code == 403
        forged = await admin.post(url, data={"confirm": ENROLMENT["external_id"]})
        assert forged.status_code == 403
        wrong = await admin.post(url, data={"csrf_token": token, "confirm": "+7916"})
        assert wrong.headers["location"] == f"{url}?notice=mismatch"
        async with console.database.read() as session:
            assert (await get_member(session, member_id=made.member_id)).name == "Anna Petrova"
        done = await admin.post(url, data={"csrf_token": token, "confirm": "+79161234567"})
        assert done.headers["location"] == f"{page_url}?notice=erased"
        shown = await admin.get(done.headers["location"] + "&lang=en")
        assert "The member's personal data is erased." in shown.text
        assert "Anna Petrova" not in shown.text
        assert f'href="{url}"' not in shown.text
        assert f'action="{page_url}/unblock"' not in shown.text  # an erased member stays blocked
        unblock = await admin.post(f"{page_url}/unblock", data={"csrf_token": token})
        assert unblock.headers["location"] == f"{page_url}?notice=erased_member"
        again = await admin.post(url, data={"csrf_token": token, "confirm": ""})
        assert again.headers["location"] == f"{page_url}?notice=erased"
        assert "was erased on" in (await admin.get(url)).text
    finally:
        await admin.aclose()
        await staff.aclose()
    async with console.database.read() as session:
        erased = await get_member(session, member_id=made.member_id)
        other = await get_member(session, member_id=made.other_id)
    assert (erased.name, erased.email, erased.external_id) == (None, None, f"erased-{erased.id}")
    assert erased.status.value == "blocked"
    assert other.name == "Ivan"
    admin_id = console.user_ids["admin"]
    target = f"member:{made.member_id}"
    assert await _audited(console, "members.erase") == [
        ("user", target, True, admin_id),
        ("user", target, False, admin_id),
    ]
    assert await _audited(console, "members.unblock") == []


async def test_the_dashboard_shows_what_needs_attention_and_pending_points(api: Api) -> None:
    made = await populate(api)
    now = utcnow()
    async with api.database.write() as session:
        late = await ticket_service.open_ticket(
            session,
            member_id=made.member_id,
            channel=TicketChannel.EMAIL,
            category="other",
            subject="Nobody answered me",
            text="Two days and no answer.",
            source=TicketSource.STAFF,
            source_ref=None,
            now=now - timedelta(hours=50),
        )
        # the other member's review (unanswered), as the analysis would have stored it
        await session.execute(
            update(Review)
            .where(Review.member_id == made.other_id)
            .values(label="negative", topic="quality", severity=0.8, probability=0.9,
                    language="en", analysed_at=now)
        )  # fmt: skip
    # a running campaign whose budget a purchase spends past its 80 % alert share
    today = now.date()
    campaign = {
        "key": "tea-week",
        "name": {"en": "Tea week", "ru": "Неделя чая"},
        "window": {"start": str(today - timedelta(days=2)), "end": str(today + timedelta(30))},
        "effect": {"bonus_points": 90},
        "budget": {"points": 100},
    }
    assert (await api.call("POST", "/campaigns", json=campaign)).status_code == 201
    purchase = {
        "external_id": "order-tea",
        "member_id": made.other_id,
        "currency": "RUB",
        "total": "500.00",
        "occurred_at": now.isoformat(),
        "lines": [{"sku": "TEA-1", "category": "tea", "quantity": 1, "unit_price": "500.00"}],
    }
    assert (await api.call("POST", "/purchases", "admin", json=purchase)).status_code == 201
    console = await _console(api)
    staff, _ = await console.logged_in("staff")
    try:
        page = await staff.get("/admin?lang=en")
        russian = await staff.get("/admin?lang=ru")
    finally:
        await staff.aclose()
    assert page.status_code == 200
    section = page.text.split('id="attention-title"')[1].split("</section>")[0]
    assert f'href="/admin/tickets/{late.ticket.id}">Nobody answered me</a>' in section
    assert "Ivan loves it" in section  # unanswered; Anna's review has a reply
    assert REVIEW_TEXT not in section
    assert "Quality: 1 complaint (new)" in _text(section)
    assert 'href="/admin/campaigns/tea-week">Tea week</a>: 90% spent, 10 points left' in section
    assert "Неделя чая" in russian.text
    assert "Что требует внимания сегодня" in russian.text
    # pending points: the sum of every member's pending balance
    async with console.database.read() as session:
        ids = (await session.execute(select(Member.id))).scalars().all()
        balances = [await ledger_service.balance(session, member_id=i, now=utcnow()) for i in ids]
    pending = sum(balance.pending for balance in balances)
    assert pending > 0
    tile = re.search(r'Points pending now</span> <strong class="value">([^<]+)<', page.text)
    assert tile is not None
    assert tile.group(1) == f"{pending:,}"
