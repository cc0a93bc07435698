"""``patron partners list|settlement`` and ``patron keys create --role partner --partner``."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from click.testing import Result
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.kit.time import utcnow
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.partners.helpers import apply, enrol

runner = CliRunner()


async def _patron(database: Database, *arguments: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", database.url])


async def test_the_cli_settlement_is_the_api_s(api: Api) -> None:
    await apply(api)
    await enrol(api, "card-1")
    at = (utcnow() - timedelta(days=20)).isoformat()
    bought = {"external_id": "b-1", "member_external_id": "card-1", "amount": "77.00"}
    made = await api.call(
        "POST", "/partners/cafe-nord/purchases", json={**bought, "occurred_at": at}
    )
    assert made.status_code == 201, made.text
    paid = {"external_id": "p-1", "member_external_id": "card-1", "points": 5}
    assert (await api.call("POST", "/partners/cafe-nord/payments", json=paid)).status_code == 201
    start, end = "2026-01-01", "2099-01-01"
    result = await _patron(
        api.database, "partners", "settlement", "--from", start, "--to", end, "--json"
    )
    assert result.exit_code == 0, result.output
    rows = {row["partner_id"]: row for row in json.loads(result.output)}
    assert sorted(rows) == ["cafe-nord", "kino"]
    for partner, row in rows.items():
        response = await api.call(
            "GET",
            f"/partners/{partner}/settlement",
            params={"from": "2026-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z"},
        )
        assert response.json() == row
    assert (rows["cafe-nord"]["points_issued"], rows["cafe-nord"]["points_redeemed"]) == (14, 5)
    # 14 x 0.05 = 0.70; 5 x 0.0375 = 0.1875 -> 0.19
    assert (rows["cafe-nord"]["owed_by_partner"], rows["cafe-nord"]["owed_to_partner"]) == (70, 19)
    text = await _patron(api.database, "partners", "settlement", "--from", start, "--to", end)
    assert "cafe-nord  issued 14  returned 0  redeemed 5  partner owes 0.70" in text.output
    backwards = await _patron(api.database, "partners", "settlement", "--from", end, "--to", start)
    assert backwards.exit_code != 0
    unknown = await _patron(
        api.database, "partners", "settlement", "--from", start, "--to", end, "--partner", "nobody"
    )
    assert unknown.exit_code != 0
    listed = await _patron(api.database, "partners", "list", "--json")
    assert [p["id"] for p in json.loads(listed.output)] == ["cafe-nord", "kino"]


async def test_a_partner_key_is_made_for_one_partner(api: Api) -> None:
    await apply(api)
    await enrol(api, "card-1")
    made = await _patron(
        api.database, "keys", "create", "--role", "partner", "--partner", "kino", "--name", "k"
    )
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    mine = await api.client.get("/api/v1/partners", headers={"Authorization": f"Bearer {key}"})
    assert [p["id"] for p in mine.json()] == ["kino"]
    other = await api.client.get(
        "/api/v1/partners/cafe-nord/settlement",
        params={"from": "2026-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert other.status_code == 403
    for arguments in (
        ("--role", "partner", "--name", "no-partner"),
        ("--role", "pos", "--partner", "kino", "--name", "pos-with-partner"),
        ("--role", "partner", "--partner", "nobody", "--name", "unknown"),
    ):
        refused = await _patron(api.database, "keys", "create", *arguments)
        assert refused.exit_code != 0, arguments
    listed = await _patron(api.database, "keys", "list", "--json")
    assert [k["partner_id"] for k in json.loads(listed.output) if k["name"] == "k"] == ["kino"]
    by_api = await api.call("POST", "/keys", json={"name": "x", "role": "partner"})
    assert (by_api.status_code, by_api.json()["error"]["field"]) == (422, "partner_id")
    unknown = await api.call(
        "POST", "/keys", json={"name": "x", "role": "partner", "partner_id": "nobody"}
    )
    assert unknown.status_code == 404
    good = await api.call(
        "POST", "/keys", json={"name": "x", "role": "partner", "partner_id": "cafe-nord"}
    )
    assert (good.status_code, good.json()["partner_id"]) == (201, "cafe-nord")
