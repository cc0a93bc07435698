"""``patron tickets`` end to end on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.migrations import upgrade_schema
from patron.support import service
from patron.support.states import AuthorKind
from tests.support.factories import apply_program, at, member, open_ticket

runner = CliRunner()


async def _prepare(path: str) -> list[int]:
    database = Database(path)
    await upgrade_schema(database.url)
    try:
        active = await apply_program(database)
        someone = await member(database, active, "m", points=5000)
        async with database.write() as session:
            late = await open_ticket(session, member_id=someone.id, now=at(0), subject="late")
            fresh = await open_ticket(
                session, member_id=None, contact="walk-in", now=at(10**5), subject="fresh"
            )
            await service.add_message(
                session,
                ticket_id=late.id,
                author_kind=AuthorKind.STAFF,
                author="ann",
                text="Looking into it",
                now=at(30),
            )
        return [late.id, fresh.id]
    finally:
        await database.dispose()


def test_list_show_breaches_kpis_returns(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    late, fresh = asyncio.run(_prepare(db))
    listed = runner.invoke(app, ["tickets", "list", "--db", db, "--json"])
    assert listed.exit_code == 0, listed.output
    assert [t["id"] for t in json.loads(listed.stdout)["items"]] == [late, fresh]
    text = runner.invoke(app, ["tickets", "list", "--db", db])
    assert "late" in text.output
    assert "2 ticket(s)" in text.output
    breaches = runner.invoke(app, ["tickets", "breaches", "--db", db, "--json"])
    [breached] = json.loads(breaches.stdout)["items"]
    assert (breached["id"], breached["first_response_breached"]) == (late, True)
    shown = runner.invoke(app, ["tickets", "show", str(late), "--db", db, "--json"])
    detail = json.loads(shown.stdout)
    assert [m["text"] for m in detail["messages"]] == ["Looking into it"]
    human = runner.invoke(app, ["tickets", "show", str(late), "--db", db])
    assert "Looking into it" in human.output
    missing = runner.invoke(app, ["tickets", "show", "999", "--db", db])
    assert missing.exit_code == 1
    assert "ticket_not_found" in missing.output
    kpis = runner.invoke(app, ["tickets", "kpis", "--db", db, "--json"])
    overall = json.loads(kpis.stdout)["overall"]
    assert (overall["tickets"], overall["first_response_median_seconds"]) == (2, 30 * 3600)
    assert runner.invoke(app, ["tickets", "kpis", "--db", db]).exit_code == 0
    bad = runner.invoke(app, ["tickets", "kpis", "--db", db, "--from", "yesterday"])
    assert bad.exit_code == 2
    returns = runner.invoke(app, ["tickets", "returns", "--db", db, "--json"])
    assert json.loads(returns.stdout)["by_product"] == []
    jobs = runner.invoke(app, ["jobs", "run", "--db", db, "--now", at(48).isoformat(), "--json"])
    # the late reply was stamped when it came; the resolution target is missed now
    assert json.loads(jobs.stdout)["ticket_breaches"] == {"first_response": 0, "resolution": 1}
