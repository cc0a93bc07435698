"""A revoked API key stops working at once in every server process (issue 16: it worked for
about 30 s in the processes that had it cached), an expired key is refused cached or not,
and a key's last use is recorded. The revocation test runs a real ``patron serve --workers
2`` and revokes from another process (the CLI on SQLite, the API on PostgreSQL)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from patron.access import service as access_service
from patron.access.models import Role
from patron.cli.workers import reuse_port_available
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.migrations import upgrade_schema
from patron.programs import service as program_service
from tests.api.conftest import Api
from tests.conftest import SEED_PROGRAM, _create_database, _drop_database
from tests.notifications.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
_PATRON = (sys.executable, "-m", "patron")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    if not server:
        yield str(tmp_path / "shop.db")
        return
    name = f"patron_keys_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(_create_database(server, name))
    try:
        yield url
    finally:
        asyncio.run(_drop_database(server, name))


async def _prepare(url: str) -> tuple[str, str, int]:
    await upgrade_schema(url)
    database = Database(url)
    async with database.write() as session:
        await program_service.apply_program(session, text=SEED_PROGRAM.read_text(), created_by="t")
        admin = await access_service.create_key(session, name="boss", role=Role.ADMIN, now=utcnow())
        till = await access_service.create_key(session, name="till", role=Role.POS, now=utcnow())
    await database.dispose()
    return admin.key, till.key, till.id


def _get(connection: http.client.HTTPConnection, path: str, key: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    connection.request("GET", path, headers=headers)
    answer = connection.getresponse()
    answer.read()
    return answer.status


def _worker(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    answer = connection.getresponse()
    return int(json.loads(answer.read())["worker"])


@pytest.mark.slow
@pytest.mark.skipif(not reuse_port_available(), reason="needs SO_REUSEPORT")
def test_a_revoked_key_is_refused_at_once_by_every_worker(database_url: str) -> None:
    admin, till, till_id = asyncio.run(_prepare(database_url))
    port = free_port()
    server = subprocess.Popen(
        [*_PATRON, "serve", "--db", database_url, "--port", str(port), "--workers", "2"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"},
    )
    opened: list[http.client.HTTPConnection] = []
    try:
        connections: dict[int, http.client.HTTPConnection] = {}
        deadline = time.monotonic() + 90
        while len(connections) < 2:
            assert time.monotonic() < deadline, "both workers did not answer"
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            opened.append(connection)
            try:
                connections.setdefault(_worker(connection), connection)
            except OSError:
                time.sleep(0.2)
        # each worker has read the till's key and holds it in its cache
        assert [_get(c, "/api/v1/program", till) for c in connections.values()] == [200, 200]
        assert [_get(c, "/api/v1/program", till) for c in connections.values()] == [200, 200]

        if database_url.startswith("postgresql"):
            # from a third process: the API of one worker (another connection, so any worker)
            revoker = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            opened.append(revoker)
            revoker.request(
                "DELETE", f"/api/v1/keys/{till_id}", headers={"Authorization": f"Bearer {admin}"}
            )
            answer = revoker.getresponse()
            answer.read()
            assert answer.status == 204
            time.sleep(0.2)  # NOTIFY reaches the other worker's listener (milliseconds)
        else:
            revoked = subprocess.run(
                [*_PATRON, "keys", "revoke", str(till_id), "--db", database_url],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert revoked.returncode == 0, revoked.stderr
        assert [_get(c, "/api/v1/program", till) for c in connections.values()] == [401, 401]
        # the admin's key, cached as well, still works
        assert [_get(c, "/api/v1/program", admin) for c in connections.values()] == [200, 200]
    finally:
        for connection in opened:
            connection.close()
        server.terminate()
        server.wait(timeout=60)


async def test_an_expired_key_is_refused_even_when_cached(api: Api) -> None:
    expires = utcnow() + timedelta(seconds=1.5)
    created = await api.call(
        "POST", "/keys", json={"name": "temp", "role": "staff", "expires_at": expires.isoformat()}
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert (await api.client.get("/api/v1/program", headers=headers)).status_code == 200
    await asyncio.sleep(1.6)
    refused = await api.client.get("/api/v1/program", headers=headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "invalid_api_key")
    past = await api.call(
        "POST", "/keys", json={"name": "old", "role": "pos", "expires_at": "2020-01-01T00:00:00Z"}
    )
    assert (past.status_code, past.json()["error"]["field"]) == (422, "expires_at")


async def test_keys_are_listed_with_their_last_use_and_revoked_once(api: Api) -> None:
    created = (await api.call("POST", "/keys", json={"name": "till-9", "role": "pos"})).json()
    access_service.clear_cache()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await api.client.get("/api/v1/program", headers=headers)).status_code == 200
    for _ in range(100):  # the use is written after the request, in a unit of work of its own
        listed = {k["id"]: k for k in (await api.call("GET", "/keys")).json()}
        if listed[created["id"]]["last_used_at"] is not None:
            break
        await asyncio.sleep(0.05)
    row = listed[created["id"]]
    assert (row["name"], row["role"], row["revoked_at"]) == ("till-9", "pos", None)
    assert row["last_used_at"] is not None
    assert "key" not in row
    assert created["key"].startswith(row["prefix"])
    assert (await api.call("DELETE", f"/keys/{created['id']}")).status_code == 204
    assert (await api.client.get("/api/v1/program", headers=headers)).status_code == 401
    assert (await api.call("DELETE", f"/keys/{created['id']}")).status_code == 204
    missing = await api.call("DELETE", "/keys/999999")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "api_key_not_found")
    rows = (await api.call("GET", "/audit", params={"action": "keys.revoke_key"})).json()["items"]
    assert [r["changed"] for r in rows] == [False, True]


async def test_a_key_cannot_revoke_itself(api: Api) -> None:
    created = (await api.call("POST", "/keys", json={"name": "ops-2", "role": "admin"})).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    own = await api.client.delete(f"/api/v1/keys/{created['id']}", headers=headers)
    assert (own.status_code, own.json()["error"]["code"]) == (409, "key_in_use")
    assert (own.json()["error"]["field"]) == "key_id"
    assert (await api.client.get("/api/v1/program", headers=headers)).status_code == 200
    assert (await api.call("DELETE", f"/keys/{created['id']}")).status_code == 204
    assert (await api.client.get("/api/v1/program", headers=headers)).status_code == 401
