"""``patron portal link``: a one-time login URL for a member; only its hash is stored."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from patron.audit.models import AuditEntry
from patron.cli.main import app
from patron.cli.options import in_unit_of_work
from patron.kit.ids import sha256_hex
from patron.kit.time import utcnow
from patron.members.models import PortalLink
from patron.members.schemas import MemberCreate
from patron.members.service import enrol_member
from patron.programs.service import apply_program
from tests.conftest import SEED_PROGRAM

runner = CliRunner()


def _member(db: str) -> int:
    async def work(session: AsyncSession) -> int:
        applied = await apply_program(
            session,
            text=SEED_PROGRAM.read_text(),
            created_by="test",
        )
        member = await enrol_member(
            session,
            program_id=applied.program_id,
            data=MemberCreate(external_id="C-1"),
            now=utcnow(),
        )
        return member.id

    return asyncio.run(in_unit_of_work(db, work))


def test_link_prints_a_url_whose_token_is_stored_only_as_a_hash(tmp_path: Path) -> None:
    db = str(tmp_path / "portal.db")
    member_id = _member(db)
    plain = runner.invoke(
        app, ["portal", "link", str(member_id), "--db", db, "--base-url", "https://shop.example/"]
    )
    assert plain.exit_code == 0, plain.output
    url = plain.stdout.strip()
    assert url.startswith("https://shop.example/portal/login/")
    token = url.rsplit("/", 1)[-1]
    assert len(token) >= 43
    as_json = runner.invoke(app, ["portal", "link", str(member_id), "--db", db, "--json"])
    assert as_json.exit_code == 0, as_json.output
    shown = json.loads(as_json.stdout)
    assert shown["member_id"] == member_id
    assert shown["valid_minutes"] == 15
    assert shown["url"].startswith("http://127.0.0.1:8000/portal/login/")

    async def stored(session: AsyncSession) -> tuple[list[str], list[str]]:
        hashes = (await session.execute(select(PortalLink.token_hash))).scalars()
        actions = (await session.execute(select(AuditEntry.action))).scalars()
        return list(hashes), list(actions)

    hashes, actions = asyncio.run(in_unit_of_work(db, stored, write=False))
    assert sha256_hex(token) in hashes
    assert token not in hashes
    assert actions.count("portal.link") == 2


def test_an_unknown_member_gets_no_link(tmp_path: Path) -> None:
    db = str(tmp_path / "portal.db")
    _member(db)
    result = runner.invoke(app, ["portal", "link", "999", "--db", db])
    assert result.exit_code == 1
    assert "member_not_found" in result.output or "does not exist" in result.output
