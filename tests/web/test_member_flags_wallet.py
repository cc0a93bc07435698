"""The member 360 view's cashback wallet and abuse flag, the console's "unflag" (admin only,
CSRF, audited) and the members list's flagged filter, over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from patron.audit.models import AuditEntry
from patron.kit.time import utcnow
from patron.members import flags as member_flags
from patron.members.schemas import MemberCreate
from patron.members.service import enrol_member, get_member
from patron.programs import service as program_service
from patron.wallet import service as wallet_service
from tests.abuse.flagging import flag
from tests.web.conftest import Console


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


async def _member(console: Console, external_id: str, name: str) -> int:
    async with console.database.write() as session:
        active = await program_service.get_active_program(session)
        made = await enrol_member(
            session,
            program_id=active.program_id,
            data=MemberCreate(external_id=external_id, name=name),
            now=utcnow(),
        )
        return made.id


async def test_the_360_view_shows_the_wallet_newest_first(console: Console) -> None:
    member_id = await _member(console, "W-1", "Wanda Wallet")
    empty_id = await _member(console, "W-2", "Nobody Cash")
    now = utcnow()
    async with console.database.write() as session:
        active = await program_service.get_active_program(session)
        currency = active.program.currency
        for number, amount in enumerate((1250, 300), start=1):
            await wallet_service.credit(
                session,
                program_id=active.program_id,
                member_id=member_id,
                currency=currency,
                amount=amount,
                idempotency_key=f"test:{number}",
                source_type="test",
                source_id=str(number),
                description=f"cashback number {number}",
                occurred_at=now - timedelta(days=3 - number),
                now=now,
            )
    staff, _ = await console.logged_in("staff")
    try:
        page = await staff.get(f"/admin/members/{member_id}?lang=en")
        russian = await staff.get(f"/admin/members/{member_id}?lang=ru")
        empty = await staff.get(f"/admin/members/{empty_id}?lang=en")
    finally:
        await staff.aclose()
    assert currency == "RUB"  # the seed program's
    text = _text(page.text)
    assert ">Cashback wallet</h2>" in page.text
    assert "Balance: RUB15.50" in text
    assert text.index("cashback number 2") < text.index("cashback number 1")  # newest first
    assert "RUB12.50" in text
    assert "RUB3.00" in text
    assert "Кошелёк кэшбэка" in russian.text
    assert "15,50 ₽" in _text(russian.text).replace("\xa0", " ")
    assert "No cashback yet." in _text(empty.text)
    assert "Balance: RUB0.00" in _text(empty.text)


async def test_a_flag_is_shown_and_an_admin_clears_it_audited(console: Console) -> None:
    member_id = await _member(console, "F-1", "Fiona Flag")
    await flag(console.database, member_id, now=utcnow())
    admin, token = await console.logged_in("admin")
    staff, staff_token = await console.logged_in("staff")
    url = f"/admin/members/{member_id}/unflag"
    try:
        seen_by_staff = await staff.get(f"/admin/members/{member_id}?lang=en")
        seen_by_admin = await admin.get(f"/admin/members/{member_id}?lang=en")
        refused = await staff.post(url, data={"csrf_token": staff_token})
        forged = await admin.post(url, data={"csrf_token": "forged"})
        async with console.database.read() as session:
            still = await get_member(session, member_id=member_id)
        done = await admin.post(url, data={"csrf_token": token})
        again = await admin.post(url, data={"csrf_token": token})
        missing = await admin.post("/admin/members/999999/unflag", data={"csrf_token": token})
        after = await admin.get(f"/admin/members/{member_id}?notice=unflagged&lang=en")
    finally:
        await admin.aclose()
        await staff.aclose()
    text = _text(seen_by_staff.text)
    assert "Flagged for abuse since" in text
    assert "3 purchases with points returned in full within 30 days (the limit is 3)." in text
    assert f'action="{url}"' not in seen_by_staff.text  # staff see the flag, not the button
    assert f'action="{url}"' in seen_by_admin.text
    assert (refused.status_code, forged.status_code, missing.status_code) == (403, 403, 404)
    assert still.flagged_at is not None  # refused and forged changed nothing
    assert (done.status_code, again.status_code) == (303, 303)
    assert done.headers["location"] == f"/admin/members/{member_id}?notice=unflagged"
    assert "Flagged for abuse since" not in _text(after.text)
    assert "The abuse flag is cleared" in _text(after.text)
    async with console.database.read() as session:
        member = await get_member(session, member_id=member_id)
        assert member.flagged_at is None
        assert await member_flags.open_flags(session, member_id=member_id) == []
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "members.unflag")
                .order_by(AuditEntry.id)
            )
        ).all()
        audit = [(row.actor, row.target, row.changed, row.user_id, row.after) for row in rows]
    assert audit == [
        ("user", f"member:{member_id}", True, console.user_ids["admin"], {"flags_cleared": 1}),
        # nothing open the second time
        ("user", f"member:{member_id}", False, console.user_ids["admin"], {"flags_cleared": 0}),
    ]


async def test_the_members_list_filters_the_flagged(console: Console) -> None:
    flagged_id = await _member(console, "F-2", "Felix Flagged")
    other_id = await _member(console, "F-3", "Felix Fine")
    admin, _ = await console.logged_in("admin")
    try:
        none_yet = await admin.get("/admin/members/results?flagged=true&lang=en")
        await flag(console.database, flagged_id, now=utcnow())
        alone = await admin.get("/admin/members/results?flagged=true")
        with_text = await admin.get("/admin/members/results?flagged=true&q=felix")
        unfiltered = await admin.get("/admin/members/results?q=felix")
        page = await admin.get("/admin/members?flagged=true")
    finally:
        await admin.aclose()
    assert "No member is flagged for abuse." in none_yet.text
    assert f'href="/admin/members/{flagged_id}"' in alone.text
    assert f'href="/admin/members/{other_id}"' not in alone.text
    assert f'href="/admin/members/{flagged_id}"' in with_text.text
    assert f'href="/admin/members/{other_id}"' not in with_text.text
    assert f'href="/admin/members/{other_id}"' in unfiltered.text
    assert 'name="flagged" type="checkbox" value="true" checked' in page.text
    assert f'href="/admin/members/{flagged_id}"' in page.text


async def test_a_partial_return_cycle_flag_says_so_in_each_language(console: Console) -> None:
    member_id = await _member(console, "P-1", "Pat Partial")
    details = {
        "full_returns": 1,
        "partial_returns": 2,
        "days": 30,
        "threshold": 3,
        "min_returned_percent": 90,
    }
    await flag(
        console.database,
        member_id,
        now=utcnow(),
        reason="partial_return_cycles",
        details=details,
    )
    staff, _ = await console.logged_in("staff")
    try:
        pages = {
            lang: _text((await staff.get(f"/admin/members/{member_id}?lang={lang}")).text)
            for lang in ("en", "pl", "ru")
        }
    finally:
        await staff.aclose()
    assert (
        "3 purchases with points returned to at least 90 % within 30 days, 2 of them in part "
        "(the limit is 3)." in pages["en"]
    )
    assert "co najmniej w 90 % w ciągu 30 dni: 3, z tego częściowo: 2 (limit: 3)" in pages["pl"]
    assert "не менее чем на 90 % за 30 дн.: 3, из них частично: 2 (порог: 3)" in pages["ru"]
