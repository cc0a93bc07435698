"""``patron members show``: one member as ``GET /members/{id}`` and its ``/challenges`` show
it (the same services), with the wallet and the newest ledger entries, by id or by the
shop's external id; an unknown member exits 1 and a wrong call 2."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import Result
from typer.testing import CliRunner

from patron.api import deps
from patron.cli.main import app
from patron.kit.time import utcnow
from tests.abuse.flagging import flag
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.challenges.setup import buy, dispatch, program_text

runner = CliRunner()


async def _patron(api: Api, *arguments: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", api.database.url])


async def _get(api: Api, path: str, **params: Any) -> Any:
    response = await api.call("GET", path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_show_is_the_api_s_member_with_wallet_and_entries(api: Api) -> None:
    assert (await api.call("PUT", "/program", content=program_text().encode())).status_code == 200
    enrolled = await api.call("POST", "/members", json={"external_id": "ann", "language": "pl"})
    member_id = enrolled.json()["id"]
    # a weekday in the program's time zone (Moscow): on a weekend the seed program's boost
    # adds half to four of the five coffees (this test passed on weekends only)
    now = utcnow()
    while now.astimezone(ZoneInfo("Europe/Moscow")).weekday() >= 5:
        now -= timedelta(days=1)
    app_ = api.client._transport.app  # type: ignore[attr-defined]
    app_.dependency_overrides[deps.now] = lambda: now  # the API and the CLI read one moment
    for n in range(5):  # coffee five times this month: 150 points and the badge
        await buy(api.database, member_id, f"p{n}", now)
    await dispatch(api.database, now)
    adjusted = await _patron(api, "wallet", "adjust", str(member_id), "12.50", "--reason", "gift")
    assert adjusted.exit_code == 0, adjusted.output
    await flag(api.database, member_id, now=now)

    shown = await _patron(
        api, "members", "show", str(member_id), "--now", now.isoformat(), "--json"
    )
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    member = await _get(api, f"/members/{member_id}")
    history = await _get(api, f"/members/{member_id}/challenges")
    wallet = await _get(api, f"/members/{member_id}/wallet")
    ledger = await _get(api, f"/members/{member_id}/ledger", limit=10)
    assert {key: document.pop(key) for key in ("wallet", "completions", "entries")} == {
        "wallet": {"currency": "RUB", "balance": "12.50"},
        "completions": history["completions"],
        "entries": ledger["items"],
    }
    assert document == member
    assert wallet["balance"] == "12.50"
    # what the API says, spelled out: the badge, the completed challenge, the flag, the points
    assert [b["key"] for b in member["badges"]] == ["coffee-lover"]
    coffee = member["challenges"][0]
    assert (coffee["key"], coffee["count"], coffee["target"], coffee["points"]) == (
        "coffee-month",
        5,
        5,
        150,
    )
    assert [f["reason"] for f in member["flags"]] == ["return_cycles"]
    assert [e["source_type"] for e in ledger["items"]][:1] == ["challenge"]

    by_card = await _patron(
        api, "members", "show", "--external-id", "ann", "--now", now.isoformat(), "--json"
    )
    assert by_card.exit_code == 0, by_card.output
    assert json.loads(by_card.stdout) == json.loads(shown.stdout)
    few = await _patron(api, "members", "show", str(member_id), "--entries", "2", "--json")
    assert [e["id"] for e in json.loads(few.stdout)["entries"]] == [
        e["id"] for e in ledger["items"][:2]
    ]

    text = await _patron(api, "members", "show", str(member_id), "--now", now.isoformat())
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[0] == f"member {member_id}  ann  active"
    at = now.isoformat()
    period = f"{now.year:04d}-{now.month:02d}"
    assert lines[1:13] == [
        "tier: none",
        "points: 150 available, 300 pending, 450 earned, 0 redeemed, 0 expired, 0 debt",
        "wallet: 12.50 RUB",
        f"flag: return_cycles days=30 full_returns=3 threshold=3 ({at})",
        "challenges:",
        f"  coffee-month  Кофе пять раз за месяц: 5 of 5 ({period}), completed {at}, 150 points,"
        " badge coffee-lover",
        "  weekly  A purchase every week for four weeks: 1 of 4 weeks in a row, badge regular",
        "  critic  Review three products: 0 of 3 (lifetime), badge critic",
        "  sharer  Share twice: 0 of 2 (lifetime)",
        "badges:",
        f"  coffee-lover  Kawosz (challenge coffee-month), {at}",  # the member's language
        "recent entries:",
    ]
    first = ledger["items"][0]["id"]
    assert (
        lines[13] == f"  {first}  {at}  bonus  +150  challenge:coffee-month  Кофе пять раз за месяц"
    )
    assert len(lines) == 13 + len(ledger["items"])


async def test_an_unknown_member_or_a_wrong_call_changes_nothing_and_fails(api: Api) -> None:
    unknown = await _patron(api, "members", "show", "999")
    assert unknown.exit_code == 1
    assert "error: member_not_found" in unknown.output
    no_card = await _patron(api, "members", "show", "--external-id", "nobody")
    assert no_card.exit_code == 1
    assert "error: member_not_found (external_id)" in no_card.output
    assert (await _patron(api, "members", "show")).exit_code == 2
    both = await _patron(api, "members", "show", "1", "--external-id", "x")
    assert both.exit_code == 2
    bad_time = await _patron(api, "members", "show", "1", "--now", "yesterday")
    assert bad_time.exit_code == 2
