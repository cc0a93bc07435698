"""The spine end to end, as a shop runs it: a real ``patron serve`` (its in-process worker on),
a real webhook receiver that verifies signatures with the official ``standardwebhooks``
package, and a real SMTP server (aiosmtpd). A purchase through the API lifts a Russian-speaking
member to Bronze; the shop's endpoint receives a signed ``tiers.changed`` and the member an email
in Russian, with nothing but the server running. On PostgreSQL when the suite runs there."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from patron.access import service as access_service
from patron.access.models import Role
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.migrations import upgrade_schema
from patron.programs import service as program_service
from tests.api.test_purchases import purchase
from tests.conftest import SEED_PROGRAM, _create_database, _drop_database
from tests.notifications.conftest import Inbox, free_port
from tests.webhooks.receiver import Receiver, receiver

REPO = Path(__file__).resolve().parents[2]


async def _prepare(url: str) -> str:
    await upgrade_schema(url)
    database = Database(url)
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="test"
        )
        key = await access_service.create_key(session, name="shop", role=Role.ADMIN, now=utcnow())
    await database.dispose()
    return key.key


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    if not server:
        yield str(tmp_path / "shop.db")
        return
    name = f"patron_e2e_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(_create_database(server, name))
    try:
        yield url
    finally:
        asyncio.run(_drop_database(server, name))


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _serve(url: str, port: int, smtp_port: int, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "PATRON_FEEDBACK_WARM_UP": "0",
        "PATRON_WEBHOOKS_ALLOW_PRIVATE": "1",  # the receiver is on 127.0.0.1
        "PATRON_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PATRON_MAIL_FROM": "Demo Store <rewards@shop.example>",
        "PATRON_PUBLIC_URL": "https://shop.example",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "patron", "serve", "--db", url, "--port", str(port)],
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=environment,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"patron serve did not start: {log.read_text()}")


def _wait(found: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not found():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.1)


def _call(client: httpx.Client, method: str, path: str, body: dict[str, Any]) -> Any:
    response = client.request(method, f"/api/v1{path}", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.mark.slow
def test_a_purchase_to_bronze_reaches_the_shops_endpoint_and_the_member_in_russian(
    database_url: str, smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    key = asyncio.run(_prepare(database_url))
    inbox, smtp_port = smtp
    port = free_port()
    server = _serve(database_url, port, smtp_port, tmp_path / "serve.log")
    endpoint: Receiver
    try:
        with (
            receiver() as endpoint,
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            ) as client,
        ):
            hook = {"url": endpoint.url, "events": ["tiers.changed"]}
            endpoint.secret = _call(client, "POST", "/webhooks", hook)["secret"]
            member = _call(
                client,
                "POST",
                "/members",
                {
                    "external_id": "anna",
                    "name": "Анна",
                    "email": "anna@example.com",
                    "language": "ru",
                    "consents": {"email": True},
                },
            )
            # 10,000.00 RUB at 100 points per 1,000.00 and the seed's big-basket bonus of 500:
            # 1,500 points, past Bronze (1,000) and short of Silver (5,000)
            body = purchase("order-1", "anna", [("tea-1", "tea", 1, "10000.00")])
            recorded = _call(client, "POST", "/purchases", body)
            assert recorded["points_earned"] == 1500

            _wait(lambda: len(endpoint.received) >= 1, "webhook delivery")
            _wait(lambda: len(inbox.messages) >= 2, "welcome and tier emails")
    finally:
        server.terminate()
        server.wait(timeout=30)

    [delivery] = endpoint.received
    assert delivery.ok, delivery.verified
    assert delivery.verified["type"] == "tiers.changed"
    assert delivery.verified["data"]["member_id"] == member["id"]
    assert delivery.verified["data"]["to_tier"] == "bronze"
    subjects = sorted(str(email["Subject"]) for _, email in inbox.messages)
    assert subjects == [
        "Ваш новый уровень: Bronze",
        "Добро пожаловать в программу «Demo Store Rewards»",
    ]
    assert all(recipients == ["anna@example.com"] for recipients, _ in inbox.messages)
    assert all(email["Content-Language"] == "ru" for _, email in inbox.messages)
