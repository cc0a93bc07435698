"""The console's partners (``/admin/partners``, admin only): the program's partners with their
rates, and each partner's settlement for a month or for days in the program's time zone, the
same figures as ``GET /api/v1/partners/{id}/settlement`` for the same instants; a partner key
made on the keys page. On both databases."""

from __future__ import annotations

import re
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from patron.access import service as access_service
from patron.access.models import Role
from patron.audit.models import AuditEntry
from patron.kit.time import utcnow
from patron.members.schemas import MemberCreate
from patron.members.service import enrol_member
from patron.partners import service as partner_service
from patron.partners.schemas import PartnerPaymentCreate, PartnerPurchaseCreate
from patron.programs import service as program_service
from patron.web.i18n import Formats
from tests.conftest import SEED_PROGRAM
from tests.partners.helpers import PARTNERS
from tests.web.conftest import Console

# Europe/Moscow is UTC+3: 21:00 UTC on 30 November is already 1 December in the program
IN_NOVEMBER = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
LATE_NOVEMBER_UTC = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)


async def _partners(console: Console) -> None:
    """The seed program with Cafe Nord and Kino Polar; at Kino, in November (Moscow time):
    300.00 spent (100 points at 0.0133) and 33 points paid (at 0.50); on 1 December, Moscow
    time, 40 points paid more."""
    async with console.database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text() + PARTNERS, created_by="test"
        )
        active = await program_service.get_active_program(session)
        await enrol_member(
            session,
            program_id=active.program_id,
            data=MemberCreate(external_id="card-1"),
            now=IN_NOVEMBER - timedelta(days=30),
        )
        bought = PartnerPurchaseCreate(
            external_id="t-1",
            member_external_id="card-1",
            amount="300.00",
            occurred_at=IN_NOVEMBER - timedelta(days=20),
        )
        await partner_service.report_purchase(
            session, active=active, partner_id="kino", data=bought, now=IN_NOVEMBER
        )
    for external_id, points, now in (("p-1", 33, IN_NOVEMBER), ("p-2", 40, LATE_NOVEMBER_UTC)):
        async with console.database.write() as session:
            paid = PartnerPaymentCreate(
                external_id=external_id, member_external_id="card-1", points=points
            )
            await partner_service.accept_payment(
                session, active=active, partner_id="kino", data=paid, now=now
            )


async def _api_settlement(console: Console, start: str, end: str) -> dict[str, Any]:
    """The API's settlement of Kino for ``[start, end)``, with an admin key."""
    async with console.database.write() as session:
        key = await access_service.create_key(session, name="t", role=Role.ADMIN, now=utcnow())
    transport = httpx.ASGITransport(app=console.app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=console.base_url) as api:
        answer = await api.get(
            "/api/v1/partners/kino/settlement",
            params={"from": start, "to": end},
            headers={"Authorization": f"Bearer {key.key}"},
        )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _facts(page: str) -> dict[str, str]:
    """The page's ``<dl class="facts stack settlement">`` as {term: value}."""
    block = page.split('<dl class="facts stack settlement">')[1].split("</dl>")[0]
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block)
    return {term: value for term, value in pairs}


async def test_the_settlement_of_a_month_is_the_apis_for_the_same_instants(
    console: Console,
) -> None:
    await _partners(console)
    client, _ = await console.logged_in("admin")
    async with aclosing(client):
        page = await client.get("/admin/partners/kino?month=2026-12&lang=en")
        assert page.status_code == 200, page.text
        december = _facts(page.text)
        page = await client.get("/admin/partners/kino?month=2026-11&lang=en")
        november = _facts(page.text)
        # the page names the instants it counts: midnight in Moscow, in UTC
        start, end = "2026-10-31T21:00:00Z", "2026-11-30T21:00:00Z"
        assert f"/api/v1/partners/kino/settlement?from={start}&amp;to={end}" in page.text
        assert "patron partners settlement --from 2026-10-31T21:00:00" in page.text
        days = await client.get("/admin/partners/kino?from=2026-11-01&to=2026-11-30&lang=en")
        assert _facts(days.text) == november
    api = await _api_settlement(console, start, end)
    assert (api["points_issued"], api["points_redeemed"]) == (100, 33)
    money = Formats("en")
    assert november == {
        "Points issued": "100",
        "Points returned": "0",
        "Points redeemed": "33",
        "Partner owes the program": money.money(api["owed_by_partner"], "RUB"),
        "Program owes the partner": money.money(api["owed_to_partner"], "RUB"),
        "Net": f"{money.money(api['net'], 'RUB')}: the program pays the partner",
    }
    assert (api["owed_by_partner"], api["owed_to_partner"]) == (133, 1650)  # 1.33, 16.50 RUB
    # the payment at 21:30 UTC on 30 November was on 1 December in the program's time zone
    assert december["Points redeemed"] == "40"
    assert december["Points issued"] == "0"


async def test_the_partners_list_shows_rates_and_the_months_settlement(console: Console) -> None:
    await _partners(console)
    client, _ = await console.logged_in("admin")
    async with aclosing(client):
        page = await client.get("/admin/partners?month=2026-11&lang=en")
        assert page.status_code == 200
        text = page.text
        assert '<a href="/admin/partners/kino">Kino Polar</a>' in text
        assert "1 point per RUB3.00" in text  # Kino: 1 point per whole 3.00
        assert "2 points per RUB10.00" in text  # Cafe Nord
        assert "RUB0.0133" in text  # the partner's price per point issued, as written
        assert "RUB0.0375" in text
        assert '<a href="/admin/partners/kino?month=2026-11">Kino Polar</a>' in text
        assert "RUB16.50" in text
        russian = await client.get("/admin/partners?month=2026-11&lang=ru")
        assert "Партнёры" in russian.text
        assert "16,50" in russian.text


async def test_bad_periods_and_unknown_partners(console: Console) -> None:
    await _partners(console)
    client, _ = await console.logged_in("admin")
    async with aclosing(client):
        bad = (
            "month=2026-13",
            "month=11-2026",
            "month=2026-11-01",
            "from=2026-11-05&to=2026-11-01",
        )
        for query in (*bad, "from=x", "from=9999-01-01&to=9999-12-31"):
            page = await client.get(f"/admin/partners/kino?{query}&lang=en")
            assert page.status_code == 422, query
            assert 'role="alert"' in page.text
            assert '<dl class="facts stack settlement">' not in page.text
        missing = await client.get("/admin/partners/nope?lang=en")
        assert missing.status_code == 404
        assert "The program has no such partner." in missing.text
        polish = await client.get("/admin/partners/kino?month=2026-13&lang=pl")
        assert polish.status_code == 422
    staff, _ = await console.logged_in("staff")
    async with aclosing(staff):
        assert (await staff.get("/admin/partners")).status_code == 403
        assert (await staff.get("/admin/partners/kino")).status_code == 403


async def test_an_admin_makes_a_partner_key_on_the_keys_page(console: Console) -> None:
    await _partners(console)
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        form = await client.get("/admin/keys?lang=en")
        assert '<option value="kino">Kino Polar (kino)</option>' in form.text
        made = await client.post(
            "/admin/keys?lang=en",
            data={
                "csrf_token": token,
                "name": "kino till",
                "role": "partner",
                "partner_id": "kino",
            },
        )
        assert made.status_code == 201, made.text
        assert made.headers["cache-control"] == "no-store"
        secret = re.search(r'id="new-key" class="key" type="text" value="([^"]+)"', made.text)
        assert secret is not None
        async with console.database.read() as session:
            principal = await access_service.authenticate(session, secret=secret.group(1))
        assert (principal.role, principal.partner_id) == (Role.PARTNER, "kino")
        listed = await client.get("/admin/keys?lang=en")
        assert 'Partner: <a href="/admin/partners/kino">kino</a>' in listed.text
        for bad in (
            {"role": "partner", "partner_id": ""},
            {"role": "partner", "partner_id": "nope"},
            {"role": "pos", "partner_id": "kino"},
        ):
            refused = await client.post(
                "/admin/keys?lang=en", data={"csrf_token": token, "name": "x", **bad}
            )
            assert refused.status_code == 422, bad
            assert 'id="new-key"' not in refused.text
    async with console.database.read() as session:
        keys = [(k.id, k.name, k.partner_id) for k in await access_service.list_keys(session)]
        rows = (await session.execute(select(AuditEntry))).scalars().all()
        audited = [(row.action, row.target, row.user_id) for row in rows]
    assert [key[1:] for key in keys] == [("kino till", "kino")]
    assert audited == [("keys.create", f"key:{keys[0][0]}", console.user_ids["admin"])]
