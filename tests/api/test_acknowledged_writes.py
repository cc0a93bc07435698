"""Nothing acknowledged is lost while analytics and CLI commands run beside a live server.

The bug this holds down (issue 14, part 1): the KPI loader ran ConnectorX inside the server
process. ConnectorX links its own copy of SQLite; when that copy closed the database, the
operating system dropped the POSIX locks of the server's own connections, and ConnectorX's
SQLite, believing itself the last user, checkpointed and deleted the write-ahead log while the
server kept writing into it (``/proc/PID/fd`` listed ``-wal`` and ``-shm`` as ``(deleted)``).
Every write acknowledged after the first ``GET /analytics/kpis`` was invisible to other
processes (``patron verify``, a backup) and gone after ``kill -9``.

Here a real ``patron serve`` over a demo store takes enrolments and purchases while
``GET /analytics/kpis`` and CLI commands (``patron verify``, ``patron analytics kpis``) run
beside it; each round checks that another process sees every acknowledged write and, on
SQLite, that the WAL is still on disk. Then the server is SIGKILLed, and every acknowledged
write is still there with ``patron verify`` clean. The server process must map exactly one
SQLite library (the one Python's ``sqlite3`` uses).
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

import httpx
import pytest
from sqlalchemy import select

from patron.kit.columnar import reader_process
from patron.kit.db import Database
from patron.members.models import Member
from patron.purchases.models import Purchase
from tests.api.test_crash import _start
from tests.api.test_schemathesis import _free_port
from tests.conftest import REPO, _create_database, _drop_database

ROUNDS = 4
SQLITE_HEADER = b"SQLite format 3\x00"  # in every build of SQLite, bundled or shared


def _patron(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patron", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"},
    )


def _demo(url: str) -> str:
    built = _patron("demo", "--members", "60", "--years", "1", "--no-serve", "--db", url)
    assert built.returncode == 0, built.stderr
    return built.stdout.strip().splitlines()[-1]


async def _seen(url: str) -> tuple[set[str], set[str]]:
    """External ids of the members and purchases another connection sees now."""
    database = Database(url)
    async with database.read() as session:
        members = set((await session.execute(select(Member.external_id))).scalars())
        purchases = set((await session.execute(select(Purchase.external_id))).scalars())
    await database.dispose()
    return members, purchases


def sqlite_libraries(pid: int) -> set[str]:
    """The files mapped into process ``pid`` that contain a copy of SQLite."""
    mapped = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and ".so" in parts[5] and Path(parts[5]).is_file():
            mapped.add(parts[5])
    return {path for path in mapped if SQLITE_HEADER in Path(path).read_bytes()}


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found |= {int(child) for child in children}
    return found


def _round(client: httpx.Client, number: int) -> tuple[str, str]:
    member, order = f"live-{number}", f"live-order-{number}"
    enrolled = client.post("/api/v1/members", json={"external_id": member, "name": "Live"})
    assert enrolled.status_code == 201, enrolled.text
    bought = client.post(
        "/api/v1/purchases",
        json={
            "external_id": order,
            "member_external_id": member,
            "occurred_at": "2026-01-10T10:00:00Z",
            "currency": "RUB",
            "total": "700.00",
            "lines": [{"sku": "tea-2", "category": "tea", "quantity": 1, "unit_price": "700.00"}],
        },
    )
    assert bought.status_code == 201, bought.text
    kpis = client.get("/api/v1/analytics/kpis")
    assert kpis.status_code == 200, kpis.text
    return member, order


@pytest.mark.slow
def test_acknowledged_writes_survive_analytics_cli_commands_and_kill_9(tmp_path: Path) -> None:
    server_url = os.environ.get("PATRON_TEST_DATABASE_URL")
    name = f"patron_live_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(_create_database(server_url, name)) if server_url else str(tmp_path / "d.db")
    is_sqlite = server_url is None
    key = _demo(url)
    port = _free_port()
    server = _start(url, port)
    members: set[str] = set()
    purchases: set[str] = set()
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            for number in range(ROUNDS):
                member, order = _round(client, number)
                members.add(member)
                purchases.add(order)
                if number % 2 == 0:
                    verified = _patron("verify", "--db", url)
                    assert verified.returncode == 0, verified.stdout + verified.stderr
                    kpis = _patron("analytics", "kpis", "--json", "--db", url)
                    assert kpis.returncode == 0, kpis.stderr
                if is_sqlite:
                    for suffix in ("-wal", "-shm"):
                        assert Path(url + suffix).exists(), f"{suffix} deleted under the server"
                seen_members, seen_purchases = asyncio.run(_seen(url))
                assert members <= seen_members
                assert purchases <= seen_purchases
        if is_sqlite:
            assert len(sqlite_libraries(server.pid)) == 1, sqlite_libraries(server.pid)
        readers = _children(server.pid)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in readers):
            assert time.monotonic() < deadline, "the reader process outlived the server"
            time.sleep(0.1)
        seen_members, seen_purchases = asyncio.run(_seen(url))
        assert members <= seen_members
        assert purchases <= seen_purchases
        verified = _patron("verify", "--db", url)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        if server_url:
            asyncio.run(_drop_database(server_url, name))


def test_a_columnar_read_of_a_file_held_open_keeps_its_wal(tmp_path: Path) -> None:
    """SQLite reads run in the reader process, not here: the WAL of a database this process
    holds open survives the read."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from patron.kit.columnar import ColumnarRead, read_tables

    path = tmp_path / "one.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    held = sqlite3.connect(path)  # held open, as a server holds its database
    try:
        url = make_url(f"sqlite:///{path}")
        (table,) = asyncio.run(read_tables(url, [ColumnarRead("SELECT x FROM t ORDER BY x")]))
        assert table.column("x").to_pylist() == [1, 2, 3]
        held.execute("INSERT INTO t VALUES (4)")
        held.commit()
        assert Path(f"{path}-wal").exists()
        assert reader_process().pid not in (None, os.getpid())
    finally:
        held.close()
