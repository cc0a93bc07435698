"""A request killed half-way leaves no partial write, and retries are safe.

1. In process: a failure injected after the purchase row is written (before its points are
   credited, or after) rolls the whole unit of work back; the retry then succeeds once.
2. For real: a ``patron serve`` process is SIGKILLed while 8 clients post purchases; after a
   restart every purchase is either wholly there (row, lines, points) or wholly absent, the
   ledger verifies, and re-sending every request records each purchase exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from patron.access import service as access_service
from patron.access.models import Role
from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.ledger.models import LedgerEntry, Lot
from patron.ledger.verify import verify
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.migrations import upgrade_schema
from patron.programs import service as program_service
from patron.purchases import earn
from patron.purchases.models import Purchase, PurchaseLine
from patron.tiers import service as tier_service
from tests.api.conftest import Api
from tests.api.test_purchases import enrol, purchase
from tests.api.test_schemathesis import _free_port
from tests.conftest import SEED_PROGRAM, _create_database, _drop_database


@pytest.mark.parametrize("broken", ["credit", "tier upgrade"])
async def test_failure_after_purchase_insert_rolls_back_and_retry_succeeds(
    api: Api, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """``credit``: the step-by-step path fails between the purchase and its points;
    ``tier upgrade``: the purchase and its points are written (on PostgreSQL by one
    statement, :mod:`patron.purchases.fused`) and what comes next fails."""
    await enrol(api, "k-1")
    body = purchase("o-k", "k-1", [("tea-1", "tea", 1, "100.00")])
    module: Any = ledger_service if broken == "credit" else tier_service
    name = "credit_change" if broken == "credit" else "upgrade_if_qualified"
    real = getattr(module, name)

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionResetError("the connection died half-way")

    if broken == "credit":
        monkeypatch.setattr(earn, "FUSE_ON_POSTGRESQL", False)
    monkeypatch.setattr(module, name, failing)
    # the request log's layer (api/observe.py) logs the exception and answers 500
    failed = await api.call("POST", "/purchases", json=body)
    assert failed.status_code == 500
    async with api.database.read() as session:
        for model in (Purchase, PurchaseLine, LedgerEntry, Lot):
            assert (
                await session.execute(select(func.count()).select_from(model))
            ).scalar_one() == 0
        recorded = select(func.count()).where(OutboxEvent.type.like("purchases.%"))
        assert (await session.execute(recorded)).scalar_one() == 0  # the events went too
    monkeypatch.setattr(module, name, real)
    retried = await api.call("POST", "/purchases", json=body)
    assert retried.status_code == 201
    assert retried.json()["points_earned"] == 10


async def _prepare(url: str, members: int) -> str:
    await upgrade_schema(url)
    database = Database(url)
    async with database.write() as session:
        active = await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="test"
        )
        key = await access_service.create_key(session, name="crash", role=Role.POS, now=utcnow())
        for number in range(members):
            await member_service.enrol_member(
                session,
                program_id=active.program_id,
                data=MemberCreate(external_id=f"m-{number}"),
                now=utcnow(),
            )
    await database.dispose()
    return key.key


def _start(url: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "patron", "serve", "--db", url, "--port", str(port)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"},  # no model fitting in the background
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("patron serve did not start")


def _bodies(count: int, members: int) -> list[dict[str, Any]]:
    return [
        purchase(f"crash-{n}", f"m-{n % members}", [("tea-1", "tea", 1 + n % 3, "250.00")])
        for n in range(count)
    ]


async def _send_all(
    port: int,
    key: str,
    bodies: list[dict[str, Any]],
    clients: int,
    codes: list[int] | None = None,
) -> list[int]:
    """Status codes of the answers (0: no answer), appended to ``codes`` as they arrive."""
    codes = [] if codes is None else codes
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Authorization": f"Bearer {key}"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            try:
                response = await client.post("/api/v1/purchases", json=body, headers=headers)
                codes.append(response.status_code)
            except httpx.HTTPError:
                codes.append(0)

    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    return codes


async def _state(url: str) -> tuple[int, int, int, int]:
    database = Database(url)
    async with database.read() as session:
        purchases = (await session.execute(select(func.count()).select_from(Purchase))).scalar_one()
        lines = (await session.execute(select(func.count()).select_from(PurchaseLine))).scalar_one()
        entries = (
            await session.execute(select(func.count()).select_from(LedgerEntry))
        ).scalar_one()
        breaches = len(await verify(session, now=utcnow()))
    await database.dispose()
    return purchases, lines, entries, breaches


@pytest.mark.slow
def test_server_killed_mid_flight_leaves_whole_purchases_and_retries_are_safe(
    tmp_path: Path,
) -> None:
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    name = f"patron_crash_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(_create_database(server, name)) if server else str(tmp_path / "crash.db")
    members, count = 20, 400
    key = asyncio.run(_prepare(url, members))
    bodies = _bodies(count, members)
    port = _free_port()
    process = _start(url, port)
    try:

        async def load_then_kill() -> list[int]:
            # killed once a quarter of the purchases are answered: mid-flight, however fast
            # the server is (a fixed delay let a fast server finish them all first)
            codes: list[int] = []
            sending = asyncio.create_task(_send_all(port, key, bodies, clients=8, codes=codes))
            deadline = time.monotonic() + 120
            while len(codes) < count // 4 and not sending.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            os.killpg(process.pid, signal.SIGKILL)
            return await sending

        first = asyncio.run(load_then_kill())
        process.wait(timeout=30)
        assert 0 in first, "the server was killed before the load finished"
        purchases, lines, entries, breaches = asyncio.run(_state(url))
        assert purchases < count
        assert (lines, entries, breaches) == (purchases, purchases, 0)
        process = _start(url, port)
        again = asyncio.run(_send_all(port, key, bodies, clients=8))
        assert sorted(set(again)) == ([200, 201] if purchases else [201])
        assert again.count(201) == count - purchases
        assert asyncio.run(_state(url)) == (count, count, count, 0)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        if server:
            asyncio.run(_drop_database(server, name))
