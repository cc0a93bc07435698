"""``patron campaigns list|show|stats`` on the suite's database, with the example program
(the seed program and four campaigns) applied by ``patron program apply``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from click.testing import Result
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.programs import service as program_service
from tests.campaigns.programs import buy_tea
from tests.conftest import REPO
from tests.purchases.bulk.factories import enrol

runner = CliRunner()
EXAMPLE = REPO / "examples" / "campaigns-program.yaml"
TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


async def _patron(database: Database, *arguments: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", database.url])


async def _buy(database: Database, external_id: str, member: str, total: str) -> int:
    recorded = await buy_tea(
        database,
        external_id,
        member,
        total,
        occurred_at=TUESDAY,
        now=TUESDAY + timedelta(minutes=1),
    )
    return recorded.purchase.points_earned


async def test_list_show_and_stats(database: Database) -> None:
    applied = await _patron(database, "program", "apply", str(EXAMPLE))
    assert applied.exit_code == 0, applied.output
    async with database.read() as session:
        program_id = (await program_service.get_active_program(session)).program_id
    await enrol(database, program_id, ["ann", "bob"])
    assert await _buy(database, "p1", "ann", "4000.00") == 600  # 400 + december-bonus 200
    assert await _buy(database, "p2", "bob", "3000.00") == 500
    assert await _buy(database, "p3", "bob", "5000.00") == 500  # once a week per member

    listed = await _patron(database, "campaigns", "list", "--json")
    assert listed.exit_code == 0, listed.output
    campaigns = json.loads(listed.stdout)
    assert [c["key"] for c in campaigns] == [
        "december-bonus",
        "tea-weekends",
        "new-year-eve",
        "grand-opening",
        "welcome",
        "birthday",
        "loyal-year",
        "monday-morning",
        "review-thanks",
        "survey-thanks",
        "social-share",
        "app-install",
        "refer-a-friend",
        "app-cashback",
        "lucky-hundredth",
        "may-raffle",
    ]
    assert campaigns[0]["budget"] == {
        "points": 500000,
        "spent": 400,
        "left": 499600,
        "money": None,
        "money_spent": None,
        "money_left": None,
    }
    text = await _patron(database, "campaigns", "list")
    assert "december-bonus" in text.stdout
    assert "499600 of 500000 points left" in text.stdout

    shown = await _patron(database, "campaigns", "show", "grand-opening")
    assert shown.exit_code == 0, shown.output
    assert "status     paused (written: paused)" in shown.stdout
    assert "limits     100 in all" in shown.stdout

    stats = await _patron(database, "campaigns", "stats", "december-bonus", "--json")
    assert stats.exit_code == 0, stats.output
    figures = json.loads(stats.stdout)
    assert {k: figures[k] for k in ("participants", "applications", "points_spent")} == {
        "participants": 2,
        "applications": 2,
        "points_spent": 400,
    }
    assert (figures["budget_left"], figures["revenue"]) == (499600, "7000.00")


async def test_an_unknown_campaign_is_an_error_and_exit_1(database: Database) -> None:
    await _patron(database, "program", "apply", str(EXAMPLE))
    for command in ("show", "stats"):
        result = await _patron(database, "campaigns", command, "nope")
        assert result.exit_code == 1
        assert "campaign_not_found" in result.stderr


async def test_pause_and_resume_make_program_versions(database: Database) -> None:
    await _patron(database, "program", "apply", str(EXAMPLE))
    paused = await _patron(database, "campaigns", "pause", "december-bonus")
    assert paused.exit_code == 0, paused.output
    assert paused.stdout.splitlines() == [
        "program 'default': version 2 replaces 1",
        "  campaigns[december-bonus].status: active -> paused",
    ]
    again = await _patron(database, "campaigns", "pause", "december-bonus")
    assert again.stdout.strip() == "campaign 'december-bonus' is already paused (version 2)"
    resumed = await _patron(database, "campaigns", "resume", "december-bonus", "--json")
    assert json.loads(resumed.stdout)["changes"] == [
        "campaigns[december-bonus].status: paused -> active"
    ]
    shown = await _patron(database, "program", "show", "--json")
    assert json.loads(shown.stdout)["version"] == 3
    audit = await _patron(database, "audit", "--json")
    assert [row["action"] for row in json.loads(audit.stdout)["items"]][:2] == [
        "campaigns.change_campaign",
        "campaigns.change_campaign",
    ]
    missing = await _patron(database, "campaigns", "resume", "nope")
    assert missing.exit_code == 1
    assert "campaign_not_found" in missing.stderr


async def test_show_names_the_trigger(database: Database) -> None:
    applied = await _patron(database, "program", "apply", str(EXAMPLE))
    assert applied.exit_code == 0, applied.output
    share = await _patron(database, "campaigns", "show", "social-share")
    assert "trigger    event social_share" in share.stdout
    birthday = await _patron(database, "campaigns", "show", "birthday")
    assert "trigger    birthday within 3 days, birth date unchanged 30 days" in birthday.stdout
