"""``patron members flagged`` and ``patron members unflag``, on the suite's database."""

from __future__ import annotations

import asyncio
import json

from click.testing import Result
from typer.testing import CliRunner

from patron.cli.main import app
from tests.abuse.test_return_cycles import _buy_and_return
from tests.abuse.test_velocity import program
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.api.test_purchases import enrol

runner = CliRunner()


async def _patron(api: Api, *arguments: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", api.database.url])


async def test_the_cli_lists_and_clears_flags(api: Api) -> None:
    await api.call("PUT", "/program", content=program("  return_cycles: {returns: 2, days: 7}\n"))
    member = await enrol(api, "c-1")
    await enrol(api, "c-2")
    none = await _patron(api, "members", "flagged")
    assert (none.exit_code, none.stdout.strip()) == (0, "no flagged members")
    await _buy_and_return(api, "b-1")
    await _buy_and_return(api, "b-2")
    listed = await _patron(api, "members", "flagged", "--json")
    assert listed.exit_code == 0, listed.output
    [shown] = json.loads(listed.stdout)
    assert shown["id"] == member["id"]
    assert [(f["reason"], f["details"]) for f in shown["flags"]] == [
        (
            "return_cycles",
            {
                "full_returns": 2,
                "partial_returns": 0,
                "days": 7,
                "threshold": 2,
                "min_returned_percent": 100,
            },
        )
    ]
    text = await _patron(api, "members", "flagged")
    assert text.stdout.startswith(f"{member['id']}  c-1  active  return_cycles")
    cleared = await _patron(api, "members", "unflag", str(member["id"]))
    assert (cleared.exit_code, cleared.stdout.strip()) == (
        0,
        f"member {member['id']}: 1 flag(s) cleared",
    )
    again = await _patron(api, "members", "unflag", str(member["id"]))
    assert again.stdout.strip() == f"member {member['id']}: 0 flag(s) cleared"
    assert json.loads((await _patron(api, "members", "flagged", "--json")).stdout) == []
    unknown = await _patron(api, "members", "unflag", "999999")
    assert unknown.exit_code == 1
    assert "member_not_found" in unknown.output or "does not exist" in unknown.output
