"""The member's cashback wallet in the portal over HTTP, on SQLite and PostgreSQL: the home
page's wallet tile once there is cashback, ``/portal/wallet`` with the balance and the
entries newest first, paged, in the page's language, and never another member's wallet."""

from __future__ import annotations

from contextlib import aclosing
from datetime import timedelta

from patron.kit.time import utcnow
from patron.programs.service import get_active_program
from patron.wallet import service as wallet_service
from tests.web.conftest import Console
from tests.web.test_portal import _member, _portal, _text


async def _credit(console: Console, member_id: int, amounts: list[int]) -> None:
    now = utcnow()
    async with console.database.write() as session:
        active = await get_active_program(session)
        for number, amount in enumerate(amounts, start=1):
            await wallet_service.credit(
                session,
                program_id=active.program_id,
                member_id=member_id,
                currency=active.program.currency,
                amount=amount,
                idempotency_key=f"test:{member_id}:{number}",
                source_type="test",
                source_id=str(number),
                description=f"entry {number}",
                occurred_at=now - timedelta(hours=len(amounts) - number),
                now=now,
            )


async def test_the_wallet_page_shows_the_balance_and_entries_newest_first(
    console: Console,
) -> None:
    anna = await _member(console, "w-a", "Anna", 0)
    boris = await _member(console, "w-b", "Boris", 0)
    await _credit(console, anna, [100 * number for number in range(1, 23)])  # 22 entries
    await _credit(console, boris, [777_77])
    client, _ = await _portal(console, anna)
    async with aclosing(client):
        home = _text((await client.get("/portal?lang=en")).text)
        first = await client.get("/portal/wallet?lang=en")
        older_link = first.text.split('href="/portal/wallet?before=')[1].split('"')[0]
        older = await client.get(f"/portal/wallet?before={older_link}&lang=en")
        russian = _text((await client.get("/portal/wallet?lang=ru")).text)
        bad = await client.get("/portal/wallet?before=not-a-cursor")
        malformed = await client.get("/portal/wallet?before=../etc")
    assert first.status_code == 200
    text = _text(first.text)
    assert "My cashback" in text
    assert 'id="wallet-balance">RUB253.00<' in text  # 100 + 200 + ... + 2200 kopecks
    assert 'id="wallet">RUB253.00<' in home
    assert 'href="/portal/wallet"' in home
    # the newest first: 22.00 then 21.00; 20 a page, the two oldest on the next
    assert text.index("RUB22.00") < text.index("RUB21.00")
    assert text.count('class="purchase"') == 20
    older_text = _text(older.text)
    assert older_text.count('class="purchase"') == 2
    assert "RUB2.00" in older_text
    assert "RUB1.00" in older_text
    assert "Older entries" not in older_text
    assert "Мой кэшбэк" in russian
    assert "253,00 ₽" in russian
    assert "7,777.77" not in text  # Boris's wallet
    assert "RUB7,777.77" not in home
    # a cursor the page never gave out: the newest entries instead; not a cursor at all: 422
    assert (bad.status_code, bad.headers.get("location")) == (303, "/portal/wallet")
    assert malformed.status_code == 422


async def test_no_cashback_no_tile(console: Console) -> None:
    member_id = await _member(console, "w-c", "Cyril", 50)
    client, _ = await _portal(console, member_id)
    async with aclosing(client):
        home = (await client.get("/portal?lang=en")).text
        page = _text((await client.get("/portal/wallet?lang=en")).text)
    assert 'href="/portal/wallet"' not in home
    assert "No cashback yet." in page
    assert 'id="wallet-balance">RUB0.00<' in page
