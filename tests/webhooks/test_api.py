"""``/webhooks`` through the API and ``patron webhooks`` through the CLI."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.outbox import EventEnvelope
from patron.kit.time import utcnow
from patron.webhooks.addresses import ALLOW_PRIVATE_ENV
from patron.webhooks.handlers import queue_deliveries
from tests.api.conftest import Api
from tests.api.paging import assert_each_once

runner = CliRunner()


@pytest.fixture(autouse=True)
def _private_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")


async def test_add_list_deliveries_redeliver_remove(api: Api) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "events": ["tiers.changed", "*"], "description": "d"}
    created = await api.call("POST", "/webhooks", json=body)
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert {"id", "url", "events", "secret"} <= set(webhook)
    assert webhook["secret"].startswith("whsec_")
    assert webhook["events"] == ["tiers.changed", "*"]
    listed = (await api.call("GET", "/webhooks")).json()
    assert [w["id"] for w in listed] == [webhook["id"]]
    assert "secret" not in listed[0]
    assert listed[0]["enabled"] is True
    envelope = EventEnvelope(
        id=41, type="tiers.changed", version=1, program_id=None, member_id=3,
        occurred_at=utcnow(), data={"member_id": 3},
    )  # fmt: skip
    async with api.database.write() as session:
        assert await queue_deliveries(session, envelope) == 1
    page = (await api.call("GET", f"/webhooks/{webhook['id']}/deliveries")).json()
    (item,) = page["items"]
    assert (item["webhook_id"], item["type"], item["status"]) == (
        "evt_41",
        "tiers.changed",
        "pending",
    )
    assert page["next_after"] is None
    for event_id in (42, 43):
        async with api.database.write() as session:
            await queue_deliveries(session, replace(envelope, id=event_id))

    async def get(params: dict[str, Any]) -> httpx.Response:
        return await api.call("GET", f"/webhooks/{webhook['id']}/deliveries", params=params)

    assert len(await assert_each_once(get)) == 3
    delivered = await api.call("GET", f"/webhooks/{webhook['id']}/deliveries?status=delivered")
    assert delivered.json()["items"] == []
    again = await api.call("POST", f"/webhooks/{webhook['id']}/deliveries/{item['id']}/redeliver")
    assert again.status_code == 200
    missing = await api.call("POST", f"/webhooks/{webhook['id']}/deliveries/999999/redeliver")
    assert missing.json()["error"]["code"] == "webhook_delivery_not_found"
    assert (await api.call("DELETE", f"/webhooks/{webhook['id']}")).status_code == 204
    gone = await api.call("DELETE", f"/webhooks/{webhook['id']}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "webhook_not_found")
    assert (await api.call("GET", "/webhooks")).json() == []


@pytest.mark.parametrize(
    ("events", "code", "field"),
    [
        (["tiers.changd"], "webhook_event_unknown", "events"),
        ([], "validation_error", None),
        (["Not An Event"], "validation_error", None),
    ],
)
async def test_event_names_are_checked(
    api: Api, events: list[str], code: str, field: str | None
) -> None:
    response = await api.call(
        "POST", "/webhooks", json={"url": "http://127.0.0.1:9/h", "events": events}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    if field is not None:
        assert response.json()["error"]["field"] == field
    assert (await api.call("GET", "/webhooks")).json() == []


async def test_staff_may_not(api: Api) -> None:
    response = await api.call("GET", "/webhooks", role="staff")
    assert response.status_code == 403


async def _patron(api: Api, *arguments: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(
        runner.invoke, app, ["webhooks", *arguments, "--db", api.database.url]
    )
    return result.exit_code, result.stdout, result.stderr


async def test_the_cli(api: Api) -> None:
    code, out, _ = await _patron(
        api,
        "add",
        "http://127.0.0.1:9/hook",
        "--event",
        "tiers.changed",
        "--event",
        "points.expired",
    )
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    code, out, _ = await _patron(api, "list")
    assert code == 0
    assert "http://127.0.0.1:9/hook" in out
    assert "tiers.changed, points.expired" in out
    assert secret not in out
    webhook_id = out.split()[0]
    code, out, _ = await _patron(api, "deliveries", webhook_id)
    assert (code, out) == (0, "")
    code, _, err = await _patron(api, "add", "http://127.0.0.1:9/x", "--event", "nope.nope")
    assert code == 1
    assert "webhook_event_unknown" in err
    code, out, _ = await _patron(api, "remove", webhook_id)
    assert code == 0
    code, _, err = await _patron(api, "remove", webhook_id)
    assert code == 1
    assert "webhook_not_found" in err
    audit = (await api.call("GET", "/audit")).json()["items"]
    assert {row["action"] for row in audit} == {
        "webhooks.create_webhook",
        "webhooks.delete_webhook",
    }
