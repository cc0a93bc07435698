"""``kit.raw``: driver-level statements run inside the session's unit of work."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from patron.kit.db import Database
from patron.kit.raw import Sql, json_text, raw_of, read_json, read_time
from patron.purchases.models import RuleUsage

INSERT_USAGE = Sql(
    "INSERT INTO rule_usages (member_id, rule_id, period_key, count) VALUES ($1, $2, $3, $4)"
)
COUNT = Sql("SELECT count(*) FROM rule_usages WHERE member_id = $1")


def test_placeholders_follow_the_dialect() -> None:
    sql = Sql("SELECT a FROM t WHERE b = $1 AND c = $2", postgresql_suffix=" FOR UPDATE")
    assert sql.sqlite == "SELECT a FROM t WHERE b = ?1 AND c = ?2"
    assert sql.postgresql == "SELECT a FROM t WHERE b = $1 AND c = $2 FOR UPDATE"


def test_json_text_is_compact_and_keeps_letters() -> None:
    assert json_text({"b": [1, 2], "a": "чай"}) == '{"b":[1,2],"a":"чай"}'


@pytest.mark.parametrize(
    "value",
    [
        {"name": 'Zażółć "gęślą" jaźń\n\t\u0001\\/', "ok": True, "none": None},
        [0, -1, 2**63 - 1, -(2**63), 0.5, -0.0, "", [], {}],
        {"nested": [{"points": 1_500, "amount": "17.00"}]},
    ],
)
def test_json_text_writes_what_json_writes(value: object) -> None:
    assert json_text(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("value", [{"big": 2**64}, {1: "a key that is not text"}])
def test_json_text_takes_json_where_orjson_refuses(value: object) -> None:
    assert json_text(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


def test_texts_may_differ_inside_per_dialect() -> None:
    sql = Sql.per_dialect(
        postgresql="SELECT a FROM t WHERE id IN (SELECT id FROM u WHERE b = $1 FOR UPDATE)",
        sqlite="SELECT a FROM t WHERE id IN (SELECT id FROM u WHERE b = $1)",
    )
    assert sql.postgresql.endswith("b = $1 FOR UPDATE)")
    assert sql.sqlite == "SELECT a FROM t WHERE id IN (SELECT id FROM u WHERE b = ?1)"


@pytest.mark.parametrize(
    "stored",
    [
        '{"name":"Zażółć","points":[1,-2,0.5],"none":null,"ok":true}',
        '{"big": 18446744073709551616}',  # beyond 64 bits: orjson refuses, json reads
        b'{"escaped":"\\u0447\\u0430\\u0439"}',
    ],
)
def test_read_json_reads_what_json_reads(stored: str | bytes) -> None:
    assert read_json(stored) == json.loads(stored)


def test_read_json_reads_a_nan_that_json_dumps_wrote() -> None:
    value = read_json(json.dumps({"score": float("nan")}))
    assert math.isnan(value["score"])


def test_read_json_keeps_a_value_the_driver_decoded() -> None:
    decoded = {"points": 150}
    assert read_json(decoded) is decoded


async def _usages(database: Database, member_id: int) -> int:
    async with database.read() as session:
        query = select(func.count()).select_from(RuleUsage).where(RuleUsage.member_id == member_id)
        return int((await session.execute(query)).scalar_one())


async def test_a_failed_unit_of_work_rolls_back_raw_writes(database: Database) -> None:
    async def dies_half_way() -> None:
        async with database.write() as session:
            raw = await raw_of(session)  # the first statements of the unit are raw
            await raw.run(INSERT_USAGE, 7, "r1", "2026-11", 1)
            assert await raw.one(COUNT, 7) == (1,)
            raise RuntimeError("the request died half-way")

    with pytest.raises(RuntimeError):
        await dies_half_way()
    assert await _usages(database, 7) == 0


async def test_raw_writes_commit_with_the_unit_of_work(database: Database) -> None:
    async with database.write() as session:
        raw = await raw_of(session)
        await raw.many(INSERT_USAGE, [(8, "r1", "2026-11", 1), (8, "r2", "2026-11", 2)])
        assert await raw_of(session) is raw  # one per transaction
    assert await _usages(database, 8) == 2


async def test_raw_statements_see_pending_orm_objects(database: Database) -> None:
    async with database.write() as session:
        session.add(RuleUsage(member_id=9, rule_id="r1", period_key="2026-11", count=1))
        raw = await raw_of(session)
        assert await raw.one(COUNT, 9) == (1,)


async def test_times_and_dates_round_trip(database: Database) -> None:
    moment = datetime(2026, 11, 22, 10, 30, 15, 123456, tzinfo=UTC)
    typed = "" if database.is_sqlite else "CAST($1 AS timestamptz), CAST($2 AS date)"
    select_times = Sql(f"SELECT {typed or '$1, $2'}")
    async with database.read() as session:
        raw = await raw_of(session)
        stored = await raw.one(Sql("SELECT enrolled_at FROM members WHERE id = $1"), -1)
        assert stored is None
        row = await raw.one(select_times, moment, date(1990, 5, 17))
        assert row is not None
    if database.is_sqlite:  # stored as SQLAlchemy stores them
        assert row == ("2026-11-22 10:30:15.123456", "1990-05-17")
    else:
        assert row[1] == date(1990, 5, 17)
    assert read_time(row[0]) == moment
    assert read_time(None) is None


async def test_driver_errors_are_raised_as_sqlalchemy_errors(database: Database) -> None:
    async def insert_twice() -> None:
        async with database.write() as session:
            raw = await raw_of(session)
            await raw.run(INSERT_USAGE, 10, "r1", "2026-11", 1)
            await raw.run(INSERT_USAGE, 10, "r1", "2026-11", 1)  # unique key taken

    with pytest.raises(IntegrityError):
        await insert_twice()
    assert await _usages(database, 10) == 0

    async def read_a_missing_table() -> None:
        async with database.read() as session:
            await (await raw_of(session)).one(Sql("SELECT 1 FROM no_such_table"))

    with pytest.raises(SQLAlchemyError):
        await read_a_missing_table()


async def test_raw_writes_roll_back_with_the_savepoint_they_ran_in(database: Database) -> None:
    """Inside ``session.begin_nested()`` the first raw statement makes the session emit the
    SAVEPOINT (SQLAlchemy sends it only before a statement of its own), so a rollback to it
    takes the raw writes back, and only them."""
    async with database.write() as session:
        await session.execute(text("CREATE TABLE raw_savepoint (x INTEGER)"))
    try:
        async with database.write() as session:
            raw = await raw_of(session)
            await raw.run(Sql("INSERT INTO raw_savepoint VALUES (1)"))

            async def undone() -> None:
                async with session.begin_nested():
                    await (await raw_of(session)).run(Sql("INSERT INTO raw_savepoint VALUES (2)"))
                    raise ValueError("undo")

            with pytest.raises(ValueError, match="undo"):
                await undone()
            async with session.begin_nested():
                await (await raw_of(session)).run(Sql("INSERT INTO raw_savepoint VALUES (3)"))
            await (await raw_of(session)).run(Sql("INSERT INTO raw_savepoint VALUES (4)"))
        async with database.read() as session:
            found = (await session.execute(text("SELECT x FROM raw_savepoint ORDER BY x"))).all()
    finally:
        async with database.write() as session:
            await session.execute(text("DROP TABLE raw_savepoint"))
    assert [row[0] for row in found] == [1, 3, 4]
