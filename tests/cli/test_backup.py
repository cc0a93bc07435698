"""``patron backup`` / ``patron restore`` on the suite's database kind (SQLite, or PostgreSQL
when ``PATRON_TEST_DATABASE_URL`` names a server).

The main test backs up a live ``patron serve`` while clients keep posting purchases: the
restored copy holds every purchase acknowledged before the backup started and verifies clean,
and the served database itself lost nothing. The others are the refusals: each exits non-zero
with a clear message and changes nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database, null_pool_engine
from patron.members.models import Member
from patron.migrations import HEAD_REVISION, alembic_config, schema_revision
from patron.purchases.models import Purchase
from tests.api.test_crash import _prepare, _start
from tests.api.test_purchases import purchase
from tests.api.test_schemathesis import _free_port
from tests.conftest import _create_database, _drop_database

runner = CliRunner()
SERVER = os.environ.get("PATRON_TEST_DATABASE_URL")
AT = "2026-11-03T10:00:00Z"


class Databases:
    """Fresh databases for one test: SQLite files, or PostgreSQL databases dropped after."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.names: list[str] = []

    def url(self, label: str, *, create: bool = True) -> str:
        """A database URL; ``create=False`` leaves it missing (a restore creates it)."""
        if SERVER is None:
            return str(self.directory / f"{label}.db")
        name = f"patron_backup_{label}_{uuid.uuid4().hex[:8]}"
        self.names.append(name)
        if create:
            return asyncio.run(_create_database(SERVER, name))
        created = asyncio.run(_create_database(SERVER, name))
        asyncio.run(_drop_database(SERVER, name))
        return created

    def exists(self, url: str) -> bool:
        if SERVER is None:
            return Path(url).exists()
        return asyncio.run(_database_exists(url))

    def drop_all(self) -> None:
        for name in self.names:
            asyncio.run(_drop_database(str(SERVER), name))


async def _database_exists(url: str) -> bool:
    engine = null_pool_engine(url)
    try:
        async with engine.connect():
            return True
    except DBAPIError:  # database "..." does not exist
        return False
    finally:
        await engine.dispose()


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[Databases]:
    made = Databases(tmp_path)
    try:
        yield made
    finally:
        made.drop_all()


async def _purchases(url: str) -> set[str]:
    database = Database(url)
    try:
        async with database.read() as session:
            return set((await session.execute(select(Purchase.external_id))).scalars())
    finally:
        await database.dispose()


async def _members(url: str) -> list[str]:
    database = Database(url)
    try:
        async with database.read() as session:
            query = select(Member.external_id).order_by(Member.external_id)
            return list((await session.execute(query)).scalars())
    finally:
        await database.dispose()


def _patron(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patron", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )


class Flow:
    """Clients posting purchases until stopped; records when each was sent and answered 201."""

    def __init__(self, port: int, key: str, members: int, clients: int = 4) -> None:
        self.port, self.key, self.members, self.clients = port, key, members, clients
        self.sent: dict[str, float] = {}
        self.acknowledged: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()))

    async def _run(self) -> None:
        numbers = itertools.count()
        headers = {"Authorization": f"Bearer {self.key}"}

        async def client(http: httpx.AsyncClient) -> None:
            while not self.stop.is_set():
                number = next(numbers)
                external_id = f"flow-{number}"
                body = purchase(
                    external_id, f"m-{number % self.members}", [("tea-1", "tea", 1, "250.00")]
                )
                body["occurred_at"] = AT
                self.sent[external_id] = time.monotonic()
                answer = await http.post("/api/v1/purchases", json=body, headers=headers)
                if answer.status_code == 201:
                    self.acknowledged[external_id] = time.monotonic()

        base = f"http://127.0.0.1:{self.port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await asyncio.gather(*(client(http) for _ in range(self.clients)))

    def wait_for(self, count: int, *, after: float = 0.0) -> None:
        deadline = time.monotonic() + 120
        while sum(1 for moment in list(self.acknowledged.values()) if moment > after) < count:
            assert time.monotonic() < deadline, "the purchases stopped flowing"
            assert self.thread.is_alive()
            time.sleep(0.01)


@pytest.mark.slow
def test_backup_while_purchases_flow_restores_every_acknowledged_purchase(
    databases: Databases, tmp_path: Path
) -> None:
    source = databases.url("source")
    target = databases.url("restored", create=False)
    file = tmp_path / "while-serving.backup"
    key = asyncio.run(_prepare(source, 20))
    port = _free_port()
    server = _start(source, port)
    flow = Flow(port, key, 20)
    try:
        flow.thread.start()
        flow.wait_for(50)
        started = time.monotonic()
        backed_up = _patron("backup", str(file), "--db", source)
        ended = time.monotonic()
        flow.wait_for(20, after=ended)
    finally:
        flow.stop.set()
        flow.thread.join(timeout=60)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert backed_up.returncode == 0, backed_up.stderr
    before = {eid for eid, moment in flow.acknowledged.items() if moment < started}
    during = {eid for eid, moment in flow.acknowledged.items() if started <= moment < ended}
    assert len(before) >= 50
    assert during, "no purchase was acknowledged while the backup ran"

    restored = _patron("restore", str(file), "--db", target)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines()[-1] == "ledger verified: no breach"
    in_copy = asyncio.run(_purchases(target))
    assert before - in_copy == set()
    sent_after = {eid for eid, moment in flow.sent.items() if moment > ended}
    assert sent_after
    assert not sent_after & in_copy
    verified = _patron("verify", "--db", target)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # the served database lost nothing to the backup, even after SIGKILL
    assert set(flow.acknowledged) - asyncio.run(_purchases(source)) == set()


def _filled(databases: Databases, label: str, members: int) -> str:
    url = databases.url(label)
    asyncio.run(_prepare(url, members))
    return url


def test_restore_refuses_a_database_with_data_without_yes(
    databases: Databases, tmp_path: Path
) -> None:
    source = _filled(databases, "small", 2)
    target = _filled(databases, "busy", 3)
    file = tmp_path / "small.backup"
    assert runner.invoke(app, ["backup", str(file), "--db", source]).exit_code == 0
    refused = runner.invoke(app, ["restore", str(file), "--db", target])
    assert refused.exit_code == 1
    assert "error: restore_target_not_empty (db):" in refused.output
    assert "pass --yes" in refused.output
    assert asyncio.run(_members(target)) == ["m-0", "m-1", "m-2"]

    replaced = runner.invoke(app, ["restore", str(file), "--db", target, "--yes"])
    assert replaced.exit_code == 0, replaced.output
    assert asyncio.run(_members(target)) == ["m-0", "m-1"]


@pytest.mark.parametrize("problem", ["missing", "corrupt", "truncated", "foreign"])
def test_restore_of_a_bad_file_changes_nothing(
    databases: Databases, tmp_path: Path, problem: str
) -> None:
    target = _filled(databases, "kept", 3)
    fresh = databases.url("fresh", create=False)
    file = tmp_path / "bad.backup"
    expected = "backup_not_found" if problem == "missing" else "backup_invalid"
    if problem == "corrupt":
        file.write_bytes(b"not a backup at all\n" * 50)
    elif problem == "truncated":
        good = tmp_path / "good.backup"
        assert runner.invoke(app, ["backup", str(good), "--db", target]).exit_code == 0
        file.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif problem == "foreign":  # a readable database, but not one Patron made
        other = tmp_path / "other.db"
        if SERVER is None:
            import sqlite3

            with sqlite3.connect(other) as connection:
                connection.execute("CREATE TABLE t (x INTEGER)")
            file = other
        else:
            empty = databases.url("empty")
            dump = subprocess.run(
                ["pg_dump", "--no-password", "--format=custom", f"--file={file}", _libpq(empty)],
                check=False,
            )
            assert dump.returncode == 0
    for url in (target, fresh):
        refused = runner.invoke(app, ["restore", str(file), "--db", url, "--yes"])
        assert refused.exit_code == 1
        assert f"error: {expected} (file):" in refused.output
    assert asyncio.run(_members(target)) == ["m-0", "m-1", "m-2"]
    assert not databases.exists(fresh)


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return f"postgresql://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"


def test_restore_refuses_a_database_in_use(databases: Databases, tmp_path: Path) -> None:
    """A server that has answered a request holds the database open: the restore is refused
    even with --yes (a server that has not touched the database yet is not detected: the
    documentation says to stop the server first)."""
    source = _filled(databases, "small", 2)
    target = databases.url("used")
    key = asyncio.run(_prepare(target, 3))
    file = tmp_path / "small.backup"
    assert runner.invoke(app, ["backup", str(file), "--db", source]).exit_code == 0
    port = _free_port()
    server = _start(target, port)
    try:
        body = purchase("kept-1", "m-0", [("tea-1", "tea", 1, "250.00")])
        body["occurred_at"] = AT
        answer = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/purchases",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 201, answer.text
        refused = _patron("restore", str(file), "--db", target, "--yes")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert refused.returncode == 1
    assert "error: database_in_use (db):" in refused.stderr
    assert asyncio.run(_members(target)) == ["m-0", "m-1", "m-2"]
    assert asyncio.run(_purchases(target)) == {"kept-1"}


def test_backup_refuses_an_existing_file_without_force(
    databases: Databases, tmp_path: Path
) -> None:
    source = _filled(databases, "small", 2)
    file = tmp_path / "kept.backup"
    file.write_bytes(b"an earlier backup")
    refused = runner.invoke(app, ["backup", str(file), "--db", source])
    assert refused.exit_code == 1
    assert "error: backup_file_exists (file):" in refused.output
    assert file.read_bytes() == b"an earlier backup"
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith(".partial")]
    forced = runner.invoke(app, ["backup", str(file), "--db", source, "--force", "--json"])
    assert forced.exit_code == 0, forced.output
    assert file.read_bytes() != b"an earlier backup"


def test_backup_of_a_missing_database_fails_and_creates_nothing(
    databases: Databases, tmp_path: Path
) -> None:
    missing = databases.url("missing", create=False)
    file = tmp_path / "none.backup"
    refused = runner.invoke(app, ["backup", str(file), "--db", missing])
    assert refused.exit_code == 1
    assert "error: database_not_found (db):" in refused.output
    assert not file.exists()
    assert not databases.exists(missing)


def test_an_older_backup_is_restored_and_upgraded_to_the_newest_schema(
    databases: Databases, tmp_path: Path
) -> None:
    from alembic import command

    older = databases.url("older")
    asyncio.run(asyncio.to_thread(command.upgrade, alembic_config(older), "0006"))
    assert asyncio.run(schema_revision(older)) == "0006"
    file = tmp_path / "older.backup"
    backed_up = runner.invoke(app, ["backup", str(file), "--db", older])
    assert backed_up.exit_code == 0, backed_up.output
    assert "schema revision 0006" in backed_up.output
    target = databases.url("upgraded", create=False)
    restored = runner.invoke(app, ["restore", str(file), "--db", target])
    assert restored.exit_code == 0, restored.output
    assert f"schema revision 0006, upgraded to {HEAD_REVISION}" in restored.output
    assert asyncio.run(schema_revision(target)) == HEAD_REVISION
    assert asyncio.run(schema_revision(older)) == "0006"
