"""``patron demo`` from the command line, on a tiny store and without serving."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from patron.access import service as access_service
from patron.access import users
from patron.access.models import Role
from patron.cli.demo import demo
from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.kit.time import utcnow
from patron.members import service as member_service
from patron.programs import service as program_service

app = typer.Typer()
app.command()(demo)
TINY = ["--members", "12", "--years", "1", "--seed", "9", "--no-serve"]


async def _state(path: Path) -> tuple[int, list[tuple[str, Role]]]:
    """Members enrolled, and the API keys (prefix, role) in the database."""
    database = Database(str(path))
    try:
        async with database.read() as session:
            active = await program_service.get_active_program(session)
            page = await member_service.list_members(session, program_id=active.program_id)
            keys = await access_service.list_keys(session)
            return len(page.items), [(key.prefix, key.role) for key in keys]
    finally:
        await database.dispose()


async def _undispatched(path: Path) -> int:
    database = Database(str(path))
    try:
        async with database.read() as session:
            count = await session.scalar(
                select(func.count()).where(OutboxEvent.dispatched_at.is_(None))
            )
            return int(count or 0)
    finally:
        await database.dispose()


def test_demo_builds_a_store_and_prints_an_admin_key(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    result = CliRunner().invoke(app, ["--db", str(path), *TINY])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert "members:         12" in lines
    assert any(line.startswith("ready in ") for line in lines)
    key = lines[-1]
    assert key.startswith("ptr_")
    assert asyncio.run(_state(path)) == (12, [(key[:10], Role.ADMIN)])
    # the store's domain events went through the dispatcher (patron worker --once)
    assert "events dispatched: " in result.stderr
    assert asyncio.run(_undispatched(path)) == 0
    # a console login, printed once, that logs in
    login = re.search(r"console login \(shown only now\): (\S+) / (\S+)", result.stderr)
    assert login is not None
    assert asyncio.run(_logs_in(path, login.group(1), login.group(2)))


async def _logs_in(path: Path, email: str, password: str) -> bool:
    database = Database(str(path))
    try:
        async with database.write() as session:
            started = await users.log_in(session, email=email, password=password, now=utcnow())
        return started.user.role is Role.ADMIN
    finally:
        await database.dispose()


def test_demo_refuses_a_database_with_data_unless_reset(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    first = CliRunner().invoke(app, ["--db", str(path), *TINY])
    assert first.exit_code == 0, first.output
    first_key = first.stdout.strip().splitlines()[-1]

    refused = CliRunner().invoke(app, ["--db", str(path), *TINY])
    assert refused.exit_code == 2
    assert "already holds data; pass --reset" in refused.stderr
    assert refused.stdout == ""
    assert asyncio.run(_state(path)) == (12, [(first_key[:10], Role.ADMIN)])

    again = CliRunner().invoke(app, ["--db", str(path), "--reset", *TINY])
    assert again.exit_code == 0, again.output
    new_key = again.stdout.strip().splitlines()[-1]
    assert new_key != first_key
    assert asyncio.run(_state(path)) == (12, [(new_key[:10], Role.ADMIN)])


def test_reset_refuses_a_server_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--db", "postgresql://patron@127.0.0.1:9/none", "--reset", *TINY]
    )
    assert result.exit_code == 2
    assert "--reset deletes only SQLite files" in result.stderr
