"""A commit group of purchases reads the active program and locks the accounts of all its
members in its first statement on PostgreSQL (:mod:`patron.purchases.group_lock`): each
purchase earns what it would earn alone, a member's second purchase in the group sees the
first's writes, a new program version reaches the next group, and the locks are real."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.kit.group_commit import Prelude, WriteGroups
from patron.kit.raw import Sql, raw_of
from patron.ledger.models import Account
from patron.ledger.verify import verify
from patron.members.models import Member
from patron.programs.service import DEFAULT_KEY
from patron.purchases import buyer, earn, group_lock
from patron.purchases.group_lock import _LOCK_GROUP
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate
from tests.conftest import SEED_PROGRAM
from tests.purchases.bulk.factories import NOW, apply, enrol

TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # no weekend boost


def _tea(external_id: str, member: str | None, rubles: int) -> PurchaseCreate:
    return PurchaseCreate(
        external_id=external_id,
        member_external_id=member,
        occurred_at=TUESDAY,
        currency="RUB",
        total=f"{rubles}.00",
        lines=[
            PurchaseLineCreate(sku="tea-1", category="tea", quantity=1, unit_price=f"{rubles}.00")
        ],
    )


def _record(data: PurchaseCreate):  # type: ignore[no-untyped-def]
    """The direct purchase route's unit of work (``record_purchase_fast``)."""

    async def record(session: AsyncSession) -> earn.RecordedPurchase:
        active = await group_lock.program_of_group(session)
        return await earn.record_purchase(session, active=active, data=data, now=NOW)

    return record


def _run(groups: WriteGroups, database: Database, data: PurchaseCreate) -> Any:
    """One purchase as the direct route sends it to its commit group."""
    return groups.run(
        _record(data),
        order=buyer.lock_order(data),
        savepoint=database.is_sqlite,
        prelude=Prelude(group_lock.lock_group, data.member_external_id or ""),
    )


async def _in_one_group(
    database: Database, purchases: list[PurchaseCreate], hold: Any = None
) -> list[Any]:
    """``purchases`` as one group (a first unit holds the writer while they queue up), with
    ``hold`` (a unit of work that runs first in the group, if given)."""
    groups = WriteGroups(database)
    gate = asyncio.Event()

    async def blocker(session: AsyncSession) -> None:
        await gate.wait()

    first = asyncio.ensure_future(groups.run(blocker))
    await asyncio.sleep(0)
    units = [_run(groups, database, data) for data in purchases]
    if hold is not None:
        units.append(groups.run(hold, order=""))  # "" sorts first
    outcomes = asyncio.gather(*units, return_exceptions=True)
    await asyncio.sleep(0)
    gate.set()
    await first
    return list(await outcomes)


async def _member(database: Database, external_id: str) -> tuple[int, str | None]:
    async with database.read() as session:
        row = (
            await session.execute(
                select(Account.lifetime_earned, Member.tier_id)
                .join(Member, Member.id == Account.member_id)
                .where(Member.external_id == external_id)
            )
        ).one()
    return int(row[0]), row[1]


async def test_a_members_second_purchase_in_a_group_sees_the_first(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """s-1's first purchase lifts s-1 to Silver (5,000 points and the big-basket 500); the
    second, in the same group, earns with Silver's multiplier (100 x 1.25). On PostgreSQL
    the group's first statement locked both members: only s-1's second purchase locks
    again (the state the first statement read is taken once)."""
    program_id = await apply(database, DEFAULT_KEY)
    await enrol(database, program_id, ["s-1", "s-2"])
    locks: list[str | None] = []
    lock = buyer.lock_member_for_purchase

    async def counted(session: AsyncSession, *args: Any) -> Any:
        locks.append(args[2])
        return await lock(session, *args)

    monkeypatch.setattr(buyer, "lock_member_for_purchase", counted)

    outcomes = await _in_one_group(
        database,
        [_tea("p-1", "s-1", 50_000), _tea("p-2", "s-1", 1_000), _tea("p-3", "s-2", 1_000)],
    )

    assert [outcome.purchase.points_earned for outcome in outcomes] == [5_500, 125, 100]
    assert await _member(database, "s-1") == (5_625, "silver")
    assert await _member(database, "s-2") == (100, None)
    assert locks == (["s-1", "s-1", "s-2"] if database.is_sqlite else ["s-1"])
    async with database.read() as session:
        assert await verify(session, now=NOW) == []


async def test_the_next_group_reads_a_new_program_version(database: Database) -> None:
    program_id = await apply(database, DEFAULT_KEY)
    await enrol(database, program_id, ["v-1"])
    before = await _in_one_group(database, [_tea("v-a", "v-1", 1_000)])
    doubled = SEED_PROGRAM.read_text().replace("    points: 100\n", "    points: 200\n", 1)
    assert doubled != SEED_PROGRAM.read_text()
    await apply(database, DEFAULT_KEY, doubled)

    after = await _in_one_group(database, [_tea("v-b", "v-1", 1_000), _tea("v-c", None, 1_000)])

    assert [(o.purchase.points_earned, o.purchase.program_version) for o in before] == [(100, 1)]
    assert [o.purchase.program_version for o in after] == [2, 2]
    assert after[0].purchase.points_earned == 200


async def test_the_first_statement_holds_the_locks_until_the_commit(database: Database) -> None:
    """While a group's first unit waits, another connection cannot lock the account of a
    member whose purchase has not run yet: the group's first statement locked it."""
    if database.is_sqlite:
        pytest.skip("SQLite: a write holds the database's lock; no row locks")
    program_id = await apply(database, DEFAULT_KEY)
    ids = await enrol(database, program_id, ["l-1", "l-2"])
    waiting, release = asyncio.Event(), asyncio.Event()
    refused: list[str] = []

    async def hold(session: AsyncSession) -> None:
        waiting.set()
        await release.wait()

    async def try_to_lock() -> None:
        await waiting.wait()
        async with database.write() as session:
            try:
                await session.execute(
                    text("SELECT id FROM accounts WHERE member_id = :m FOR UPDATE NOWAIT"),
                    {"m": ids["l-2"]},
                )
            except DBAPIError as error:
                refused.append(str(getattr(error.orig, "sqlstate", "")))
                raise
            finally:
                release.set()

    group = asyncio.ensure_future(
        _in_one_group(database, [_tea("h-1", "l-1", 1_000), _tea("h-2", "l-2", 1_000)], hold)
    )
    with pytest.raises(DBAPIError):
        await try_to_lock()
    outcomes = await group

    assert refused == ["55P03"]  # lock_not_available
    assert [outcome.purchase.points_earned for outcome in outcomes[:2]] == [100, 100]


def _scans_of(plan: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    found = [plan] if plan.get("Relation Name") == relation else []
    for child in plan.get("Plans", []):
        found += _scans_of(child, relation)
    return found


async def test_each_member_is_found_by_the_unique_key_before_statistics(
    database: Database,
) -> None:
    """The generic plan of the group's first statement, on a members table PostgreSQL has
    no statistics of yet (members enrolled a moment ago): each member is found by its own
    probe of the (program_id, external_id) key. The statement it replaced was planned as a
    scan of every member of the program through the phone index, filtered (0.56 ms a group
    among 2,000 members, 0.04 ms so; migration 0038 and the LATERAL probe)."""
    if database.is_sqlite:
        pytest.skip("SQLite: the statement is PostgreSQL's only")
    program_id = await apply(database, DEFAULT_KEY)
    await enrol(database, program_id, [f"s-{number}" for number in range(300)])
    async with database.write() as session:
        raw = await raw_of(session)
        await raw.run(Sql("SET LOCAL plan_cache_mode = force_generic_plan"))
        await raw.run(Sql(f"PREPARE lock_probe (text, text[]) AS {_LOCK_GROUP.postgresql}"))
        try:
            [(document,)] = await raw.all(
                Sql(
                    "EXPLAIN (FORMAT JSON) EXECUTE lock_probe "
                    f"('{DEFAULT_KEY}', ARRAY['s-1', 's-200'])"
                )
            )
        finally:
            await raw.run(Sql("DEALLOCATE lock_probe"))
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    scans = _scans_of(plan, "members")
    assert scans, plan
    for scan in scans:
        assert scan.get("Index Name") == "uq_members_program_id_external_id", scan
        assert "external_id" in scan.get("Index Cond", ""), scan
