"""Manual point adjustments (the console's "adjust points"): a credit or a debit of kind
``adjust`` with a reason, idempotent by the form's key, refused whole when the member lacks
the points or is blocked, and the ledger's invariants hold."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from patron.awards.adjust import adjust_points
from patron.kit.db import Database
from patron.kit.errors import InvalidInputError
from patron.kit.outbox import OutboxEvent
from patron.ledger import service as ledger_service
from patron.ledger.errors import InsufficientPointsError
from patron.ledger.models import entries
from patron.ledger.verify import verify
from patron.members.blocking import block_member
from patron.members.errors import MemberBlockedError, MemberNotFoundError
from patron.members.schemas import MemberCreate
from patron.members.service import enrol_member
from patron.programs.service import get_active_program
from tests.members.conftest import NOW, make_program


async def _member(database: Database) -> int:
    program_id = await make_program(database, "default")
    async with database.write() as session:
        member = await enrol_member(
            session, program_id=program_id, data=MemberCreate(external_id="m-1"), now=NOW
        )
    return member.id


async def _adjust(database: Database, member_id: int, points: int, key: str, reason: str = "x"):
    async with database.write() as session:
        active = await get_active_program(session)
        return await adjust_points(
            session,
            active=active,
            member_id=member_id,
            points=points,
            reason=reason,
            key=key,
            actor="user:1",
            now=NOW,
        )


async def _available(database: Database, member_id: int) -> int:
    async with database.read() as session:
        return (await ledger_service.balance(session, member_id=member_id, now=NOW)).available


async def _entries(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(entries)) or 0)


async def test_credit_then_debit_with_a_reason(database: Database) -> None:
    member_id = await _member(database)
    credited = await _adjust(database, member_id, 500, "k-1", reason="apology for the wait")
    assert credited.kind == "adjust"
    assert credited.amount == 500
    assert credited.description == "apology for the wait"
    assert credited.meta == {"reason": "apology for the wait", "by": "user:1"}
    debited = await _adjust(database, member_id, -200, "k-2", reason="double scan")
    assert debited.amount == -200
    assert await _available(database, member_id) == 300
    async with database.read() as session:
        assert await verify(session, now=NOW) == []


async def test_the_same_key_again_writes_nothing_more(database: Database) -> None:
    member_id = await _member(database)
    first = await _adjust(database, member_id, 100, "k-1")
    again = await _adjust(database, member_id, 100, "k-1")
    assert again.id == first.id
    debit = await _adjust(database, member_id, -40, "k-2")
    debit_again = await _adjust(database, member_id, -40, "k-2")
    assert debit_again.id == debit.id
    assert await _available(database, member_id) == 60
    assert await _entries(database) == 2
    async with database.read() as session:
        events = (
            await session.execute(
                select(OutboxEvent.type, OutboxEvent.payload).order_by(OutboxEvent.id)
            )
        ).all()
    credited = [payload for kind, payload in events if kind == "ledger.credited"]
    debited = [payload for kind, payload in events if kind == "ledger.debited"]
    assert [(p["kind"], p["points"], p["source"]) for p in credited] == [
        ("adjust", 100, "adjustment")
    ]
    assert [(p["kind"], p["points"], p["source"]) for p in debited] == [
        ("adjust", 40, "adjustment")
    ]


async def test_a_debit_beyond_the_balance_is_refused_whole(database: Database) -> None:
    member_id = await _member(database)
    await _adjust(database, member_id, 100, "k-1")
    with pytest.raises(InsufficientPointsError):
        await _adjust(database, member_id, -101, "k-2")
    assert await _available(database, member_id) == 100
    assert await _entries(database) == 1


@pytest.mark.parametrize(
    ("points", "reason", "key", "field"),
    [
        (0, "x", "k", "points"),
        (1_000_001, "x", "k", "points"),
        (-1_000_001, "x", "k", "points"),
        (5, "  ", "k", "reason"),
        (5, "x" * 256, "k", "reason"),
        (5, "x", "", "key"),
        (5, "x", "k" * 65, "key"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(
    database: Database, points: int, reason: str, key: str, field: str
) -> None:
    member_id = await _member(database)
    with pytest.raises(InvalidInputError) as refused:
        await _adjust(database, member_id, points, key, reason=reason)
    assert refused.value.field == field
    assert await _entries(database) == 0


async def test_a_blocked_or_unknown_member_is_refused(database: Database) -> None:
    member_id = await _member(database)
    async with database.write() as session:
        await block_member(session, member_id=member_id, reason="fraud", now=NOW)
    with pytest.raises(MemberBlockedError):
        await _adjust(database, member_id, 10, "k-1")
    with pytest.raises(MemberNotFoundError):
        await _adjust(database, member_id + 1000, 10, "k-2")
    assert await _entries(database) == 0
