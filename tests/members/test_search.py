"""The console's member search: name, email, phone, external id; wildcards are literal."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from patron.kit.db import Database
from patron.kit.errors import InvalidInputError
from patron.members.models import Member
from patron.members.schemas import MemberCreate
from patron.members.search import search_members
from patron.members.service import enrol_member
from tests.members.conftest import NOW, make_program

PEOPLE = [
    {"external_id": "C-1001", "name": "Anna Kowalska", "email": "anna@example.pl",
     "phone": "+48 601 234 567"},
    {"external_id": "C-1002", "name": "Иван Петров", "email": "ivan@example.ru",
     "phone": "+7 912 345 67 89"},
    {"external_id": "100%_off", "name": "Zofia Nowak", "email": "zofia@example.pl"},
]  # fmt: skip


async def _found(database: Database, program_id: int, text: str) -> list[str]:
    async with database.read() as session:
        members = await search_members(session, program_id=program_id, text=text)
    return sorted(member.external_id for member in members)


async def test_search_by_each_field(database: Database) -> None:
    program_id = await make_program(database, "default")
    other_program = await make_program(database, "other")
    async with database.write() as session:
        for person in PEOPLE:
            data = MemberCreate.model_validate(person)
            await enrol_member(session, program_id=program_id, data=data, now=NOW)
        await enrol_member(
            session, program_id=other_program, data=MemberCreate.model_validate(PEOPLE[0]), now=NOW
        )
    assert await _found(database, program_id, "kowal") == ["C-1001"]
    assert await _found(database, program_id, "ИВАН") == ["C-1002"]
    assert await _found(database, program_id, "EXAMPLE.PL") == ["100%_off", "C-1001"]
    assert await _found(database, program_id, "601 234") == ["C-1001"]
    assert await _found(database, program_id, "C-1002") == ["C-1002"]
    # LIKE's wildcards are plain characters: "%" alone matches no name or email
    assert await _found(database, program_id, "%") == []
    assert await _found(database, program_id, "100%_off") == ["100%_off"]
    assert await _found(database, program_id, "   ") == []


async def test_bad_search_input_is_refused(database: Database) -> None:
    program_id = await make_program(database, "default")
    async with database.read() as session:
        with pytest.raises(InvalidInputError):
            await search_members(session, program_id=program_id, text="x" * 201)
        with pytest.raises(InvalidInputError):
            await search_members(session, program_id=program_id, text="anna", limit=0)


async def test_a_tier_filters_and_alone_lists_its_members(database: Database) -> None:
    program_id = await make_program(database, "default")
    async with database.write() as session:
        for n, person in enumerate(PEOPLE):
            data = MemberCreate.model_validate(person)
            enrolled = await enrol_member(session, program_id=program_id, data=data, now=NOW)
            if n:
                await session.execute(
                    update(Member).where(Member.id == enrolled.id).values(tier_id="silver")
                )

    async def found(text: str, tier: str | None) -> list[str]:
        async with database.read() as session:
            members = await search_members(session, program_id=program_id, text=text, tier=tier)
        return sorted(member.external_id for member in members)

    assert await found("", "silver") == ["100%_off", "C-1002"]
    assert await found("example.pl", "silver") == ["100%_off"]
    assert await found("example.pl", "gold") == []
    assert await found("", None) == []


async def test_yo_and_ye_find_each_other(database: Database) -> None:
    """Russian is mostly typed without ё: ``Семен`` finds ``Семён`` and ``Семён`` finds
    ``Семенова``, in any case, while other letters still count."""
    program_id = await make_program(database, "default")
    async with database.write() as session:
        for external_id, name in (("Y-1", "Семён Ёлкин"), ("Y-2", "Анна Семенова")):
            data = MemberCreate.model_validate({"external_id": external_id, "name": name})
            await enrol_member(session, program_id=program_id, data=data, now=NOW)
    assert await _found(database, program_id, "Семен") == ["Y-1", "Y-2"]
    assert await _found(database, program_id, "семён") == ["Y-1", "Y-2"]
    assert await _found(database, program_id, "СЕМЁН") == ["Y-1", "Y-2"]
    assert await _found(database, program_id, "елкин") == ["Y-1"]
    assert await _found(database, program_id, "Елкин") == ["Y-1"]
    assert await _found(database, program_id, "Семан") == []
