"""The referral check "does another member of the program have this email (in any case) or
phone" is two index lookups on PostgreSQL, not a read of every member of the program (130 ms
at 500,000 members before migration 0039), and it still finds the other member."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event, update

from patron.kit.db import Database
from patron.kit.raw import Sql, raw_of
from patron.members.models import Member
from patron.referrals.repository import ReferralRepository
from tests.purchases.bulk.factories import apply, enrol


def _index_scans(plan: dict[str, Any]) -> list[str]:
    found = [plan["Index Name"]] if "Index Name" in plan else []
    for child in plan.get("Plans", []):
        found += _index_scans(child)
    return found


def _relation_scans(plan: dict[str, Any]) -> list[str]:
    found = [plan["Node Type"]] if plan.get("Relation Name") == "members" else []
    for child in plan.get("Plans", []):
        found += _relation_scans(child)
    return found


async def _with_contacts(database: Database, count: int) -> tuple[int, dict[str, int]]:
    program_id = await apply(database, "default")
    members = await enrol(database, program_id, [f"c-{number}" for number in range(count)])
    async with database.write() as session:
        for external_id, member_id in members.items():
            number = external_id.removeprefix("c-")
            await session.execute(
                update(Member)
                .where(Member.id == member_id)
                .values(email=f"Client.{number}@example.org", phone=f"+4860100{int(number):04d}")
            )
    return program_id, members


async def test_another_member_with_the_email_in_any_case_or_the_phone_is_found(
    database: Database,
) -> None:
    program_id, members = await _with_contacts(database, 3)
    async with database.read() as session:
        repository = ReferralRepository(session)
        others = repository.others_with_contact
        assert await others(program_id, members["c-2"], "client.1@EXAMPLE.org", None) == 1
        assert await others(program_id, members["c-1"], "client.1@example.org", None) == 0
        assert await others(program_id, members["c-2"], None, "+48601000000") == 1
        assert await others(program_id, members["c-2"], "nobody@example.org", "+48601000009") == 0


async def test_the_check_is_two_index_lookups_on_postgresql(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("PostgreSQL's index of lower(email); on SQLite the check reads the program")
    program_id, members = await _with_contacts(database, 200)
    statements: list[tuple[str, Any]] = []
    async with database.write() as session:
        raw = await raw_of(session)
        await raw.run(Sql("ANALYZE members"))
        await raw.run(Sql("SET LOCAL enable_seqscan = off"))  # 200 members fit in a page
        connection = await session.connection()

        def capture(*args: Any) -> None:
            statements.append((args[2], args[3]))

        event.listen(connection.sync_connection, "before_cursor_execute", capture)
        try:
            await ReferralRepository(session).others_with_contact(
                program_id, members["c-5"], "client.7@example.org", "+48601000009"
            )
        finally:
            event.remove(connection.sync_connection, "before_cursor_execute", capture)
        [(statement, parameters)] = statements  # the ORM's own statement, planned again
        [(document,)] = await raw.all(Sql(f"EXPLAIN (FORMAT JSON) {statement}"), *parameters)
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    assert "Seq Scan" not in _relation_scans(plan), plan
    assert set(_index_scans(plan)) == {
        "ix_members_program_id_lower_email",
        "ix_members_program_id_phone",
    }, plan
