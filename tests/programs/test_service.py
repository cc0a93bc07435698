from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from patron.kit.db import Database
from patron.kit.errors import InvalidInputError
from patron.programs import service
from patron.programs.document import checksum, document_of
from patron.programs.errors import (
    ProgramInvalidError,
    ProgramNotFoundError,
    ProgramVersionNotFoundError,
)
from patron.programs.loader import load_program
from patron.programs.models import ProgramRecord, ProgramVersion
from patron.programs.repository import ProgramRepository
from patron.programs.schemas import ApplyStatus
from tests.programs.test_loader import SEED, edited

T1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T3 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


async def apply(database: Database, text: str, *, key: str = "default", now: datetime = T1):
    async with database.write() as session:
        return await service.apply_program(session, text=text, key=key, created_by="alice", now=now)


async def count_versions(database: Database) -> int:
    async with database.read() as session:
        return int((await session.execute(select(func.count(ProgramVersion.id)))).scalar_one())


async def test_first_apply_creates_version_1(database: Database) -> None:
    applied = await apply(database, SEED)
    assert (applied.key, applied.version, applied.previous_version) == ("default", 1, None)
    assert applied.status is ApplyStatus.CREATED
    assert applied.changes == []
    async with database.read() as session:
        record = (await session.execute(select(ProgramRecord))).scalar_one()
        stored = (await session.execute(select(ProgramVersion))).scalar_one()
        session.expunge_all()  # keep the loaded values after the read rolls back
    assert (record.id, record.key, record.name) == (
        applied.program_id,
        "default",
        "Demo Store Rewards",
    )
    assert record.created_at == T1
    assert stored.source_yaml == SEED
    assert stored.document == document_of(load_program(SEED))
    assert stored.checksum == checksum(document_of(load_program(SEED)))
    assert (stored.version, stored.is_active, stored.created_by, stored.created_at) == (
        1,
        True,
        "alice",
        T1,
    )


async def test_applying_the_same_program_again_is_a_no_op(database: Database) -> None:
    first = await apply(database, SEED)
    again = await apply(database, SEED, now=T2)
    only_comments = await apply(database, "# reformatted\n" + SEED, now=T2)
    for applied in (again, only_comments):
        assert applied.status is ApplyStatus.UNCHANGED
        assert (applied.version, applied.previous_version) == (1, 1)
        assert applied.program_id == first.program_id
        assert applied.changes == []
    assert await count_versions(database) == 1


async def test_a_change_makes_a_new_active_version_with_a_diff(database: Database) -> None:
    await apply(database, SEED)
    changed = edited(
        ("per_member: 4", "per_member: 5"), ('name: "Demo Store Rewards"', "name: Demo Rewards")
    )
    applied = await apply(database, changed, now=T2)
    assert applied.status is ApplyStatus.UPDATED
    assert (applied.version, applied.previous_version) == (2, 1)
    assert applied.changes == [
        'program.name: "Demo Store Rewards" -> "Demo Rewards"',
        "earning.rules[weekend-boost].limit.per_member: 4 -> 5",
    ]
    assert applied.diff == (
        'program.name: "Demo Store Rewards" -> "Demo Rewards"\n'
        "earning.rules[weekend-boost].limit.per_member: 4 -> 5"
    )
    async with database.read() as session:
        versions = await service.list_versions(session)
        active = await service.get_active_program(session)
        name = (await session.execute(select(ProgramRecord.name))).scalar_one()
    assert [(v.version, v.is_active, v.created_at) for v in versions] == [
        (2, True, T2),
        (1, False, T1),
    ]
    assert active.version == 2
    assert active.program.earning.rules[2].limit is not None
    assert active.program.earning.rules[2].limit.per_member == 5
    assert name == "Demo Rewards"


async def test_rolling_back_is_applying_the_old_source_again(database: Database) -> None:
    await apply(database, SEED)
    await apply(database, edited(("per_member: 4", "per_member: 5")), now=T2)
    async with database.read() as session:
        old = await service.get_version(session, version=1)
    applied = await apply(database, old.source_yaml, now=T3)
    assert (applied.status, applied.version, applied.previous_version) == (
        ApplyStatus.UPDATED,
        3,
        2,
    )
    assert applied.changes == ["earning.rules[weekend-boost].limit.per_member: 5 -> 4"]
    async with database.read() as session:
        versions = await service.list_versions(session)
        third = await service.get_version(session, version=3)
    assert [(v.version, v.is_active) for v in versions] == [(3, True), (2, False), (1, False)]
    assert third.checksum == old.checksum
    assert third.source_yaml == SEED
    assert third.key == "default"


async def test_an_invalid_program_writes_nothing(database: Database) -> None:
    await apply(database, SEED)
    with pytest.raises(ProgramInvalidError) as caught:
        await apply(database, edited(("bonus_points: 500", "multiply_lines: 0")), now=T2)
    assert caught.value.errors == [
        ("earning.rules[1].effect.multiply_lines", "must be greater than 0")
    ]
    assert await count_versions(database) == 1
    async with database.read() as session:
        assert (await service.get_active_program(session)).version == 1


async def test_programs_with_different_keys_are_independent(database: Database) -> None:
    default = await apply(database, SEED)
    partner = await apply(
        database, SEED.replace("currency: RUB", "currency: PLN"), key="partner-shop"
    )
    assert partner.program_id != default.program_id
    assert (partner.version, partner.status) == (1, ApplyStatus.CREATED)
    async with database.read() as session:
        assert await service.program_keys(session) == ["default", "partner-shop"]
        assert (
            await service.get_active_program(session, key="partner-shop")
        ).program.currency == "PLN"
        assert (await service.get_active_program(session)).program.currency == "RUB"
        repository = ProgramRepository(session)
        assert await repository.key_of(partner.program_id) == "partner-shop"
        assert await repository.key_of(default.program_id) == "default"
        assert await repository.key_of(partner.program_id + default.program_id) is None


@pytest.mark.parametrize("key", ["Not A Key", "default\n"])
async def test_bad_key_is_refused(database: Database, key: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await apply(database, SEED, key=key)
    assert caught.value.field == "key"
    assert await count_versions(database) == 0


async def test_nothing_applied(database: Database) -> None:
    async with database.read() as session:
        assert await service.program_keys(session) == []
        with pytest.raises(ProgramNotFoundError) as caught:
            await service.get_active_program(session)
        assert (caught.value.code, caught.value.status) == ("program_not_found", 404)
        assert caught.value.message == "no program 'default' has been applied"
        with pytest.raises(ProgramNotFoundError):
            await service.list_versions(session, key="other")
        with pytest.raises(ProgramNotFoundError):
            await service.get_version(session, key="other", version=1)


async def test_missing_version(database: Database) -> None:
    await apply(database, SEED)
    async with database.read() as session:
        with pytest.raises(ProgramVersionNotFoundError) as caught:
            await service.get_version(session, version=7)
    assert (caught.value.code, caught.value.status) == ("program_version_not_found", 404)
    assert caught.value.message == "program 'default' has no version 7"


async def test_only_one_version_can_be_active(database: Database) -> None:
    applied = await apply(database, SEED)
    with pytest.raises(IntegrityError):
        async with database.write() as session:
            session.add(
                ProgramVersion(
                    program_id=applied.program_id,
                    version=2,
                    source_yaml=SEED,
                    document={},
                    checksum="0" * 64,
                    is_active=True,
                    created_at=T2,
                    created_by="mallory",
                )
            )
    assert await count_versions(database) == 1


@pytest.fixture
def selects(database: Database) -> Iterator[list[str]]:
    """The SELECT statements the read engine runs through SQLAlchemy while the test runs (the
    active-version lookup goes straight to the driver, so only document reads show here)."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = database.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


async def test_active_program_is_parsed_once_per_version(
    database: Database, selects: list[str]
) -> None:
    await apply(database, SEED)
    service.parse_cache.clear()
    selects.clear()
    async with database.read() as session:
        first = await service.get_active_program(session)
        assert (len(selects), service.parse_cache.misses) == (1, 1)
        second = await service.get_active_program(session)
    async with database.read() as session:
        third = await service.get_active_program(session)
    assert (len(selects), service.parse_cache.misses) == (1, 1)
    assert first.program is second.program is third.program
    assert first == third
    assert (first.key, first.version, first.checksum) == (
        "default",
        1,
        checksum(document_of(load_program(SEED))),
    )
    assert first.program == load_program(SEED)

    await apply(database, edited(("per_member: 4", "per_member: 5")), now=T2)
    async with database.read() as session:
        fourth = await service.get_active_program(session)
    assert fourth.version == 2
    assert fourth.program is not first.program
    assert fourth.program.earning.rules[2].limit is not None
    assert fourth.program.earning.rules[2].limit.per_member == 5
