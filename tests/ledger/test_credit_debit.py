"""Credits, debits and balances against a real database, with exact values."""

from __future__ import annotations

import pytest

from patron.kit.db import Database
from patron.kit.errors import InvalidInputError, PatronError
from patron.ledger import service
from patron.ledger.errors import AccountNotFoundError, InsufficientPointsError
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.models import accounts, entries, lots
from patron.ledger.repository import lock_account_for_update
from patron.ledger.verify import verify
from tests.ledger.factories import (
    T0,
    count_rows,
    day,
    earn,
    entry_summary,
    figures,
    lot_of,
    lot_rows,
    movement_rows,
    remaining_by_lot,
    spend,
)

MEMBER = 1001


async def test_open_account_is_idempotent_and_starts_at_zero(database: Database) -> None:
    async with database.write() as session:
        first = await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 10)
        again = await service.open_account(session, member_id=MEMBER, now=day(1))
        assert await count_rows(session, accounts) == 1
    assert (first.available, first.pending, first.lifetime_earned, first.debt) == (0, 0, 0, 0)
    assert (again.available, again.lifetime_earned, again.as_of) == (10, 10, day(1))


async def test_unknown_member_has_no_account(database: Database) -> None:
    async with database.write() as session:
        with pytest.raises(AccountNotFoundError) as caught:
            await earn(session, 404, 10)
        assert (caught.value.code, caught.value.status) == ("account_not_found", 404)
        with pytest.raises(AccountNotFoundError):
            await service.balance(session, member_id=404, now=T0)
        with pytest.raises(AccountNotFoundError):
            await lock_account_for_update(session, 404)
        assert await count_rows(session, entries) == 0


async def test_credit_writes_an_entry_a_lot_and_the_cache(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        entry = await service.credit(
            session,
            member_id=MEMBER,
            amount=120,
            kind=EntryKind.EARN,
            idempotency_key="purchase:P-1",
            source_type="purchase",
            source_id="P-1",
            now=day(1),
            occurred_at=T0,
            expires_at=day(365),
            description="Order P-1",
            meta={"rule": "base"},
        )
        assert await figures(session, MEMBER, day(1)) == (120, 0, 120, 0, 0, 0)
        (lot,) = await lot_rows(session, MEMBER)
    assert (entry.kind, entry.amount, entry.requested_amount, entry.debt_change) == (
        EntryKind.EARN,
        120,
        120,
        0,
    )
    assert (entry.occurred_at, entry.created_at, entry.meta) == (T0, day(1), {"rule": "base"})
    assert (lot["entry_id"], lot["amount"], lot["remaining"], lot["is_active"]) == (
        entry.id,
        120,
        120,
        True,
    )
    assert (lot["expires_at"], lot["pending_until"], lot["created_at"]) == (day(365), None, day(1))


async def test_pending_credit_counts_as_pending_until_due(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 80, pending_until=day(14))
        await earn(session, MEMBER, 5, kind=EntryKind.BONUS)
        assert await figures(session, MEMBER, day(13)) == (5, 80, 85, 0, 0, 0)
        assert await figures(session, MEMBER, day(14)) == (85, 0, 85, 0, 0, 0)
        with pytest.raises(InsufficientPointsError):
            await spend(session, MEMBER, 6, now=day(13))
        await spend(session, MEMBER, 85, now=day(14))
        assert await figures(session, MEMBER, day(14)) == (0, 0, 85, 85, 0, 0)
        assert await verify(session, now=day(14)) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": True}, "amount"),
        ({"kind": EntryKind.REDEEM}, "kind"),
        ({"kind": EntryKind.EXPIRE}, "kind"),
        ({"pending_until": day(5), "expires_at": day(5)}, "expires_at"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 161}, "idempotency_key"),
        ({"source_type": "s" * 33}, "source_type"),
        ({"source_id": ""}, "source_id"),
        ({"description": "d" * 256}, "description"),
    ],
)
async def test_invalid_credits_are_refused(
    database: Database, changes: dict[str, object], field: str
) -> None:
    arguments: dict[str, object] = {
        "member_id": MEMBER,
        "amount": 10,
        "kind": EntryKind.EARN,
        "idempotency_key": "k",
        "source_type": "purchase",
        "source_id": "P-1",
        "now": T0,
    }
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        with pytest.raises(InvalidInputError) as caught:
            await service.credit(session, **{**arguments, **changes})  # type: ignore[arg-type]
        assert caught.value.field == field
        assert await count_rows(session, entries) == 0


async def test_debit_burns_soonest_expiry_then_oldest_then_never(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        a = await lot_of(session, await earn(session, MEMBER, 100, expires_at=day(30)))
        b = await lot_of(session, await earn(session, MEMBER, 100, expires_at=day(10)))
        c = await lot_of(session, await earn(session, MEMBER, 100))
        d = await lot_of(session, await earn(session, MEMBER, 50, pending_until=day(5)))
        e = await lot_of(session, await earn(session, MEMBER, 30, now=day(0.5)))
        first = await spend(session, MEMBER, 180, now=day(1))
        assert await movement_rows(session, first.id) == [(b, "debit", -100), (a, "debit", -80)]
        assert await remaining_by_lot(session, MEMBER) == {a: 20, b: 0, c: 100, d: 50, e: 30}
        # Day 5: lot d became available and expires never; c is older than d and e.
        second = await spend(session, MEMBER, 150, now=day(5))
        assert await movement_rows(session, second.id) == [
            (a, "debit", -20),
            (c, "debit", -100),
            (d, "debit", -30),
        ]
        assert await remaining_by_lot(session, MEMBER) == {a: 0, b: 0, c: 0, d: 20, e: 30}
        assert await figures(session, MEMBER, day(5)) == (50, 0, 380, 330, 0, 0)
        assert await verify(session, now=day(5)) == []


async def test_a_lot_due_to_expire_at_now_is_expired_not_spent(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        soon = await lot_of(session, await earn(session, MEMBER, 100, expires_at=day(10)))
        never = await lot_of(session, await earn(session, MEMBER, 70))
        debit = await spend(session, MEMBER, 50, now=day(10))
        assert await movement_rows(session, debit.id) == [(never, "debit", -50)]
        assert await entry_summary(session, MEMBER) == [
            ("earn", 100),
            ("earn", 70),
            ("expire", -100),
            ("redeem", -50),
        ]
        assert await remaining_by_lot(session, MEMBER) == {soon: 0, never: 20}
        assert await figures(session, MEMBER, day(10)) == (20, 0, 170, 50, 100, 0)
        assert await verify(session, now=day(10)) == []


async def test_refused_debit_changes_nothing(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 100, expires_at=day(10))
        await earn(session, MEMBER, 40, pending_until=day(12))
        await earn(session, MEMBER, 30)
        before = await figures(session, MEMBER, day(10))
        entries_before = await entry_summary(session, MEMBER)
        lots_before = await lot_rows(session, MEMBER)
        with pytest.raises(InsufficientPointsError) as caught:
            await spend(session, MEMBER, 31, now=day(10))
        assert await figures(session, MEMBER, day(10)) == before == (30, 40, 170, 0, 100, 0)
        assert await entry_summary(session, MEMBER) == entries_before
        assert await lot_rows(session, MEMBER) == lots_before
    error = caught.value
    assert isinstance(error, PatronError)
    assert (error.code, error.status, error.requested, error.available) == (
        "insufficient_points",
        409,
        31,
        30,
    )
    assert error.to_dict()["error"] == {
        "code": "insufficient_points",
        "message": "31 points requested but only 30 available",
        "field": "amount",
        "params": {"requested": 31, "available": 30},
    }


async def test_capped_debit_takes_what_is_available(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 30)
        capped = await spend(session, MEMBER, 50, policy=ShortfallPolicy.CAP)
        nothing = await spend(session, MEMBER, 5, policy=ShortfallPolicy.CAP)
        assert await figures(session, MEMBER, T0) == (0, 0, 30, 30, 0, 0)
        assert await verify(session, now=T0) == []
    assert (capped.amount, capped.requested_amount, capped.debt_change) == (-30, -50, 0)
    assert (nothing.amount, nothing.requested_amount) == (0, -5)


async def test_debt_goes_negative_and_the_next_active_credit_repays_it(
    database: Database,
) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        spent = await lot_of(session, await earn(session, MEMBER, 30))
        debit = await spend(session, MEMBER, 50, policy=ShortfallPolicy.DEBT, kind=EntryKind.ADJUST)
        assert await figures(session, MEMBER, T0) == (-20, 0, 30, 0, 0, 20)
        pending = await earn(session, MEMBER, 15, pending_until=day(3))
        assert await figures(session, MEMBER, T0) == (-20, 15, 45, 0, 0, 20)
        active = await earn(session, MEMBER, 12, now=day(1))
        assert await figures(session, MEMBER, day(1)) == (-8, 15, 57, 0, 0, 8)
        assert await movement_rows(session, active.id) == [
            (await lot_of(session, active), "repay", -12)
        ]
        # Day 3: the pending lot repays the last 8 as it becomes available.
        assert await figures(session, MEMBER, day(3)) == (7, 0, 57, 0, 0, 0)
        assert await remaining_by_lot(session, MEMBER) == {
            spent: 0,
            await lot_of(session, pending): 15,
            await lot_of(session, active): 0,
        }
        assert await verify(session, now=day(3)) == []
    assert (debit.amount, debit.debt_change) == (-50, 20)
    assert (active.amount, active.debt_change) == (12, -12)
    assert pending.debt_change == 0


async def test_credit_with_debt_lets_older_due_points_repay_first(database: Database) -> None:
    """Pending points that became available (and then expired) before a credit repay the debt
    first, as they would have had the daily jobs run on time."""
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 10, pending_until=day(1), expires_at=day(2))
        await spend(session, MEMBER, 4, policy=ShortfallPolicy.DEBT)
        assert await figures(session, MEMBER, day(3)) == (0, 0, 10, 4, 6, 0)
        await earn(session, MEMBER, 10, now=day(3))
        assert await figures(session, MEMBER, day(3)) == (10, 0, 20, 4, 6, 0)
        assert await entry_summary(session, MEMBER) == [
            ("earn", 10),
            ("redeem", -4),
            ("expire", -6),
            ("earn", 10),
        ]
        assert await verify(session, now=day(3)) == []


@pytest.mark.parametrize(
    ("amount", "kind", "field"),
    [(0, EntryKind.REDEEM, "amount"), (5, EntryKind.EARN, "kind"), (5, EntryKind.REVERSE, "kind")],
)
async def test_invalid_debits_are_refused(
    database: Database, amount: int, kind: EntryKind, field: str
) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 50)
        with pytest.raises(InvalidInputError) as caught:
            await spend(session, MEMBER, amount, kind=kind)
        assert caught.value.field == field
        assert await count_rows(session, entries) == 1
        assert await count_rows(session, lots) == 1
