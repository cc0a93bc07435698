"""The console's webhooks (``/admin/webhooks``, admin only): adding an endpoint shows its
secret once; the delivery log shows each attempt against a real local HTTP server; an
endpoint disabled by a 410 is enabled again, a failed delivery sent again and delivered, and
the endpoint removed; bad input changes nothing; every change audited. On both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import aclosing

import pytest
from sqlalchemy import select

from patron.audit.models import AuditEntry
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import emit
from patron.kit.time import utcnow
from patron.webhooks import delivery as webhook_delivery
from patron.webhooks import service as webhook_service
from patron.webhooks.addresses import ALLOW_PRIVATE_ENV
from patron.worker import registry
from tests.web.conftest import Console
from tests.webhooks.receiver import Receiver, receiver
from tests.webhooks.test_delivery import TiersChanged


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with receiver() as running:
        yield running


async def _endpoints(console: Console) -> list[tuple[str, list[str], bool]]:
    async with console.database.read() as session:
        found = await webhook_service.list_endpoints(session)
    return [(endpoint.url, endpoint.events, endpoint.enabled) for endpoint in found]


async def _tier_change(console: Console) -> None:
    async with console.database.write() as session:
        event = TiersChanged(
            member_id=7, from_tier=None, to_tier="bronze", direction="up", reason="points"
        )
        await emit(session, event, program_id=1)
    report = await dispatch_pending(console.database, registry.handlers())
    assert report.failed == 0


async def test_an_admin_adds_a_webhook_and_follows_its_deliveries(
    console: Console, server: Receiver
) -> None:
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        made = await client.post(
            "/admin/webhooks?lang=en",
            data={
                "csrf_token": token,
                "url": server.url,
                "description": "the shop's ERP",
                "events": ["tiers.changed", "members.enrolled"],
            },
        )
        assert made.status_code == 201, made.text[:500]
        assert made.headers["cache-control"] == "no-store"
        secret = re.search(r'id="new-secret" class="key" type="text" value="([^"]+)"', made.text)
        assert secret is not None
        assert secret.group(1).startswith("whsec_")
        server.secret = secret.group(1)
        async with console.database.read() as session:
            (endpoint,) = await webhook_service.list_endpoints(session)
        page = f"/admin/webhooks/{endpoint.id}"
        listed = await client.get("/admin/webhooks?lang=en")
        assert secret.group(1) not in listed.text
        assert f'href="{page}"' in listed.text
        assert "No deliveries yet." in (await client.get(f"{page}?lang=en")).text

        server.statuses = [410]  # Gone: the delivery fails and the endpoint is disabled at once
        await _tier_change(console)
        assert await webhook_delivery.run_once(console.database, utcnow()) == 1
        shown = await client.get(f"{page}?lang=en")
        assert "tiers.changed" in shown.text
        assert "HTTP 410" in shown.text
        assert "Disabled" in shown.text
        assert f'action="{page}/enable"' in shown.text
        assert "/redeliver" not in shown.text  # not while the endpoint is disabled

        enabled = await client.post(f"{page}/enable", data={"csrf_token": token})
        assert enabled.headers["location"] == f"{page}?notice=enabled"
        failed = await client.get(f"{page}?status=failed&lang=en")
        (delivery_id,) = re.findall(r"/deliveries/(\d+)/redeliver", failed.text)
        resent = await client.post(
            f"{page}/deliveries/{delivery_id}/redeliver", data={"csrf_token": token}
        )
        assert resent.headers["location"] == f"{page}?notice=resent"
        assert await webhook_delivery.run_once(console.database, utcnow()) == 1
        assert [got.ok for got in server.received] == [True, True]  # both signed and verified
        delivered = await client.get(f"{page}?status=delivered&lang=ru")
        assert "Доставлено" in delivered.text
        assert "HTTP 410" in delivered.text
        assert "HTTP 200" in delivered.text
        none_failed = await client.get(f"{page}?status=failed&lang=en")
        assert "No deliveries yet." in none_failed.text
        missing = await client.post(
            f"{page}/deliveries/999999/redeliver", data={"csrf_token": token}
        )
        assert missing.status_code == 404

        removed = await client.post(f"{page}/remove", data={"csrf_token": token})
        assert removed.headers["location"] == "/admin/webhooks?notice=removed"
        assert (await client.get(page)).status_code == 404
    assert await _endpoints(console) == []
    async with console.database.read() as session:
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
        audited = [(row.action, row.target, row.user_id) for row in rows]
    admin = console.user_ids["admin"]
    target = f"webhook:{endpoint.id}"
    assert audited == [
        ("webhooks.create_webhook", target, admin),
        ("webhooks.enable_webhook", target, admin),
        ("webhooks.redeliver", target, admin),
        ("webhooks.delete_webhook", target, admin),
    ]


@pytest.mark.parametrize(
    ("form", "shown"),
    [
        ({"url": "https://shop.example/hook"}, "Choose at least one event."),
        ({"url": "ftp://shop.example/hook", "events": "*"}, "must be an http:// or https://"),
        ({"url": "https://shop.example/hook", "events": "nope.nope"}, "Choose at least one"),
        ({"url": "http://127.0.0.1:9/hook", "events": "*"}, "local or private address"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    console: Console, monkeypatch: pytest.MonkeyPatch, form: dict[str, str], shown: str
) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        answer = await client.post("/admin/webhooks?lang=en", data={"csrf_token": token, **form})
        assert answer.status_code == 422
        assert shown in answer.text
        assert 'id="new-secret"' not in answer.text
    assert await _endpoints(console) == []


async def test_staff_may_not_open_the_webhooks(console: Console) -> None:
    staff, token = await console.logged_in("staff")
    async with aclosing(staff):
        assert (await staff.get("/admin/webhooks")).status_code == 403
        refused = await staff.post(
            "/admin/webhooks",
            data={"csrf_token": token, "url": "https://shop.example/h", "events": "*"},
        )
        assert refused.status_code == 403
    assert await _endpoints(console) == []
