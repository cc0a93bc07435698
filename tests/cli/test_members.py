"""``patron members export|erase``, ``patron audit`` and the CLI's own audit rows, on the
suite's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from patron.cli.main import app
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.conftest import SEED_PROGRAM
from tests.privacy.conftest import Populated
from tests.privacy.conftest import populated as populated

runner = CliRunner()


async def _patron(api: Api, *arguments: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", api.database.url])


async def _audit(api: Api) -> list[dict[str, Any]]:
    result = await _patron(api, "audit", "--json")
    assert result.exit_code == 0, result.output
    items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
    return items


async def _api_export(api: Api, member_id: int) -> dict[str, Any]:
    body: dict[str, Any] = (await api.call("GET", f"/members/{member_id}/export")).json()
    del body["exported_at"]
    return body


async def test_erase_without_yes_refuses_and_changes_nothing(
    api: Api, populated: Populated
) -> None:
    before = await _api_export(api, populated.member_id)
    rows_before = await _audit(api)
    result = await _patron(api, "members", "erase", str(populated.member_id))
    assert result.exit_code == 2
    assert "--yes" in result.output
    assert await _api_export(api, populated.member_id) == before
    assert [r["action"] for r in await _audit(api)] == [
        "members.export",
        *[r["action"] for r in rows_before],
    ]


async def test_erase_unknown_member_fails(api: Api) -> None:
    result = await _patron(api, "members", "erase", "999", "--yes")
    assert result.exit_code == 1
    assert "member_not_found" in result.output
    assert await _audit(api) == []


async def test_export_erase_verify_and_audit(api: Api, populated: Populated) -> None:
    member = str(populated.member_id)
    exported = await _patron(api, "members", "export", member, "--json")
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.stdout)
    del document["exported_at"]
    assert document == await _api_export(api, populated.member_id)
    summary = await _patron(api, "members", "export", member)
    assert "Anna Petrova" in summary.stdout
    assert "ticket_messages      2 row(s)" in summary.stdout

    erased = await _patron(api, "members", "erase", member, "--yes")
    assert erased.exit_code == 0, erased.output
    assert f"erased-{member}" in erased.stdout
    again = await _patron(api, "members", "erase", member, "--yes", "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["external_id"] == f"erased-{member}"
    verified = await _patron(api, "verify")
    assert verified.exit_code == 0, verified.output
    cli_rows = [r for r in await _audit(api) if r["actor"] == "cli"]
    assert [(r["action"], r["target"], r["changed"], r["key_id"]) for r in cli_rows] == [
        ("members.erase", f"member:{member}", False, None),
        ("members.erase", f"member:{member}", True, None),
        ("members.export", f"member:{member}", False, None),
        ("members.export", f"member:{member}", False, None),
    ]
    plain = await _patron(api, "audit", "--action", "members.erase", "--limit", "1")
    assert plain.exit_code == 0
    newest = plain.stdout.splitlines()[0].split()[3:]
    assert newest == ["cli", "members.erase", f"member:{member}", "(no", "change)"]
    assert plain.stdout.splitlines()[1].startswith("(more: --after ")


async def test_operator_writes_are_recorded_as_cli(api: Api, tmp_path: Path) -> None:
    created = await _patron(api, "keys", "create", "--role", "staff", "--name", "desk")
    assert created.exit_code == 0, created.output
    program = tmp_path / "program.yaml"
    program.write_text(SEED_PROGRAM.read_text().replace("bonus_points: 500", "bonus_points: 700"))
    applied = await _patron(api, "program", "apply", str(program))
    assert applied.exit_code == 0, applied.output
    rows = await _audit(api)
    assert [(r["action"], r["target"], r["actor"], r["before"]) for r in rows] == [
        ("program.apply_program", "program:default", "cli", {"version": 1}),
        ("keys.create", "key:5", "cli", None),
    ]
    assert rows[0]["after"] == {
        "version": 2,
        "changes": ["earning.rules[big-basket].effect.bonus_points: 500 -> 700"],
    }
