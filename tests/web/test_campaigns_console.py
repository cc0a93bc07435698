"""The console's campaigns (``/admin/campaigns``): the list with status, trigger, window and
budget, one campaign's figures, names in the page's language, and an admin's pause and resume
(a new program version, audited); staff may look but not pause. On both databases."""

from __future__ import annotations

from contextlib import aclosing

from sqlalchemy import select

from patron.audit.models import AuditEntry
from patron.programs import service as program_service
from tests.conftest import REPO
from tests.web.conftest import Console

EXAMPLE = (REPO / "examples" / "campaigns-program.yaml").read_text()


async def _with_campaigns(console: Console) -> int:
    async with console.database.write() as session:
        applied = await program_service.apply_program(session, text=EXAMPLE, created_by="tests")
    return applied.version


async def _status(console: Console, key: str) -> tuple[str, int]:
    async with console.database.read() as session:
        active = await program_service.get_active_program(session)
    campaign = active.program.campaign(key)
    assert campaign is not None
    return campaign.status.value, active.version


async def test_staff_see_the_campaigns_and_their_figures(console: Console) -> None:
    await _with_campaigns(console)
    client, _ = await console.logged_in("staff")
    async with aclosing(client):
        listed = await client.get("/admin/campaigns?lang=en")
        assert listed.status_code == 200
        for name in ("December bonus", "Tea weekends", "Grand opening"):
            assert name in listed.text
        assert "<progress" in listed.text  # december-bonus has a budget
        russian = await client.get("/admin/campaigns/december-bonus?lang=ru")
        assert russian.status_code == 200
        assert "Декабрьский бонус" in russian.text
        assert "Участники" in russian.text
        assert 'action="/admin/campaigns/december-bonus/pause"' not in russian.text  # staff
        refused = await client.post(
            "/admin/campaigns/december-bonus/pause",
            data={"csrf_token": "x"},
        )
        assert refused.status_code == 403
        missing = await client.get("/admin/campaigns/no-such-campaign")
        assert missing.status_code == 404
    assert (await _status(console, "december-bonus"))[0] == "active"


async def test_an_admin_pauses_and_resumes_a_campaign(console: Console) -> None:
    version = await _with_campaigns(console)
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        page = await client.get("/admin/campaigns/december-bonus")
        assert 'action="/admin/campaigns/december-bonus/pause"' in page.text
        no_token = await client.post("/admin/campaigns/december-bonus/pause")
        assert no_token.status_code == 403
        assert await _status(console, "december-bonus") == ("active", version)
        paused = await client.post(
            "/admin/campaigns/december-bonus/pause", data={"csrf_token": token}
        )
        assert paused.status_code == 303
        assert paused.headers["location"] == "/admin/campaigns/december-bonus?notice=paused"
        assert await _status(console, "december-bonus") == ("paused", version + 1)
        shown = await client.get(paused.headers["location"])
        assert "The campaign is paused" in shown.text
        assert 'action="/admin/campaigns/december-bonus/resume"' in shown.text
        again = await client.post(
            "/admin/campaigns/december-bonus/pause", data={"csrf_token": token}
        )
        assert again.headers["location"].endswith("notice=unchanged")
        assert await _status(console, "december-bonus") == ("paused", version + 1)
        resumed = await client.post(
            "/admin/campaigns/december-bonus/resume", data={"csrf_token": token}
        )
        assert resumed.headers["location"].endswith("notice=resumed")
        assert await _status(console, "december-bonus") == ("active", version + 2)
    async with console.database.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.target, AuditEntry.user_id).where(
                    AuditEntry.action == "campaigns.change_campaign"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("campaigns.change_campaign", "program:default", console.user_ids["admin"])
    ] * 3


async def test_a_program_without_campaigns_says_so(console: Console) -> None:
    client, _ = await console.logged_in("staff")
    async with aclosing(client):
        page = await client.get("/admin/campaigns?lang=pl")
    assert page.status_code == 200
    assert "Program nie ma jeszcze kampanii" in page.text


async def test_a_campaign_with_both_budgets_shows_both_bars(console: Console) -> None:
    both = EXAMPLE.replace(
        "    limits: {per_member: 10, period: month}\n  # An instant prize",
        '    limits: {per_member: 10, period: month}\n    budget: {points: 5000, money: "300.00"}'
        "\n  # An instant prize",
    )
    assert both != EXAMPLE
    async with console.database.write() as session:
        await program_service.apply_program(session, text=both, created_by="tests")
    client, _ = await console.logged_in("staff")
    async with aclosing(client):
        page = await client.get("/admin/campaigns/app-cashback?lang=en")
        listed = await client.get("/admin/campaigns?lang=en")
        bonus = await client.get("/admin/campaigns/december-bonus?lang=en")
    assert page.status_code == 200
    assert page.text.count("<progress") == 2
    assert 'max="5000" value="0" aria-label="Points budget spent of App cashback"' in page.text
    assert 'max="300.00" value="0.00" aria-label="Money budget spent of App cashback"' in page.text
    assert "RUB0.00 / RUB300.00" in page.text  # the amounts as the page's language writes them
    assert "Given back by returns: 0 points, RUB0.00; wholly returned purchases: 0." in page.text
    assert listed.text.count("budget spent of App cashback") == 2
    assert bonus.text.count("<progress") == 1  # a points budget only: one bar
