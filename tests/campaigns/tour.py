"""The example tour's steps (``test_example_tour.py``): the CLI and the API at pinned times,
the worker's round and the daily job, and readers of what a member got."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from patron.api import deps
from patron.cli.main import app
from patron.kit.dispatch import dispatch_pending
from patron.rewards.models import Coupon
from patron.worker import registry
from tests.api.conftest import Api
from tests.api.test_purchases import purchase
from tests.conftest import REPO

runner = CliRunner()
EXAMPLE = REPO / "examples" / "campaigns-program.yaml"
CLUB = REPO / "examples" / "club-program.yaml"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def patron(api: Api, *arguments: str) -> Result:
    result = await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", api.database.url])
    assert result.exit_code == 0, (arguments, result.output)
    return result


def pin(api: Api, moment: str) -> None:
    """The API's clock reads ``moment`` from now on."""
    app_ = api.client._transport.app  # type: ignore[attr-defined]
    app_.dependency_overrides[deps.now] = lambda: at(moment)


async def worker(api: Api, moment: str) -> None:
    """One round of the worker at ``moment``: the outbox handlers (welcome, reviews, surveys,
    deferred effects) run for every event due then."""
    while True:  # rounds of up to 200 events, until none is due
        report = await dispatch_pending(api.database, registry.handlers(), now=at(moment))
        assert report.failed == 0, report.errors
        if report.events == 0:
            return


async def daily(api: Api, moment: str) -> dict[str, Any]:
    ran = await patron(api, "jobs", "run", "--now", moment, "--json")
    report: dict[str, Any] = json.loads(ran.stdout)
    assert report["failures"] == []
    return report


async def campaign_points(api: Api, member: int) -> list[tuple[str, int]]:
    """``(campaign key, points)`` of the member's campaign credits, oldest first."""
    ledger = await api.call("GET", f"/members/{member}/ledger", params={"limit": 200})
    assert ledger.status_code == 200, ledger.text
    rows = [e for e in ledger.json()["items"] if e["source_type"] == "campaign"]
    return [(str(e["source_id"]), int(e["amount"])) for e in reversed(rows)]


async def enrol(api: Api, external_id: str, **fields: Any) -> int:
    response = await api.call(
        "POST", "/members", "pos", json={"external_id": external_id, **fields}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def buy(api: Api, external_id: str, member: str, rubles: str, at: str, **more: Any) -> Any:
    body = purchase(external_id, member, [("t1", "tea", 1, rubles)], at=at) | more
    # as admin: the audited route reads the pinned clock (a till's fast path reads the real one)
    response = await api.call("POST", "/purchases", "admin", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def ledger(api: Api, member: int) -> list[tuple[str, str, int]]:
    """``(source type, source id, points)`` of the member's ledger, oldest first."""
    ledger = await api.call("GET", f"/members/{member}/ledger", params={"limit": 200})
    assert ledger.status_code == 200, ledger.text
    items = reversed(ledger.json()["items"])
    return [(str(e["source_type"]), str(e["source_id"]), int(e["amount"])) for e in items]


async def coupons(api: Api, member: int) -> list[str]:
    async with api.database.read() as session:
        rows = await session.scalars(
            select(Coupon.reward_code).where(Coupon.member_id == member).order_by(Coupon.id)
        )
        return list(rows)


def campaigns(body: dict[str, Any]) -> dict[str, int]:
    """The campaigns that applied to a purchase, with their points."""
    return {
        row["rule_id"].removeprefix("campaign:"): row["points"]
        for row in body["breakdown"]
        if row["rule_id"].startswith("campaign:") and row["applied"]
    }
