"""``patron messages list`` on a real database: the log, the filters, and why queued
messages wait."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner, Result

from patron.cli.main import app
from patron.kit.db import Database
from tests.notifications.conftest import dispatch, emit_event, enrol, tier_up

runner = CliRunner()


async def _patron(*arguments: str) -> Result:
    """The CLI runs its own event loop: in a thread of its own, beside the test's."""
    return await asyncio.to_thread(runner.invoke, app, list(arguments))


async def test_list_shows_the_log_and_why_messages_wait(
    database: Database, program_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATRON_SMTP_URL", raising=False)
    anna = await enrol(database, program_id, external_id="anna")
    refused = await enrol(database, program_id, external_id="no", consent=False)
    for member_id in (anna, refused):
        await emit_event(database, tier_up(member_id), program_id)
    await dispatch(database)

    listed = await _patron("messages", "list", "--db", database.url)
    assert listed.exit_code == 0, listed.output
    assert "email: 1 queued: PATRON_SMTP_URL is not set" in listed.output
    assert "skipped_no_consent" in listed.output
    assert "(no email consent when queued)" in listed.output
    assert "Ваш новый уровень: Silver" in listed.output

    one = await _patron("messages", "list", "--db", database.url, "--member", str(anna), "--json")
    assert one.exit_code == 0, one.output
    items = json.loads(one.stdout)["items"]
    assert [(m["member_id"], m["status"], m["language"]) for m in items] == [(anna, "queued", "ru")]

    bad = await _patron("messages", "list", "--db", database.url, "--status", "lost")
    assert bad.exit_code == 2
