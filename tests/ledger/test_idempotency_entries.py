"""Idempotency keys and the paged ledger of a member."""

from __future__ import annotations

import pytest

from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.ledger import service
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.models import entries, lots, movements
from patron.ledger.schemas import EntryPage
from tests.ledger.factories import T0, count_rows, day, earn, figures, spend

MEMBER = 3003
OTHER = 3004


async def test_a_repeated_credit_returns_the_first_entry(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        first = await earn(session, MEMBER, 50, key="purchase:P-9")
    async with database.write() as session:
        again = await earn(session, MEMBER, 50, key="purchase:P-9", now=day(1))
        assert await figures(session, MEMBER, day(1)) == (50, 0, 50, 0, 0, 0)
        assert await count_rows(session, entries) == 1
        assert await count_rows(session, lots) == 1
    assert again == first


@pytest.mark.parametrize(
    ("member_id", "amount", "kind"),
    [(MEMBER, 51, EntryKind.EARN), (MEMBER, 50, EntryKind.BONUS), (OTHER, 50, EntryKind.EARN)],
)
async def test_a_reused_key_with_another_change_is_a_conflict(
    database: Database, member_id: int, amount: int, kind: EntryKind
) -> None:
    async with database.write() as session:
        for member in (MEMBER, OTHER):
            await service.open_account(session, member_id=member, now=T0)
        await earn(session, MEMBER, 50, key="purchase:P-9")
        with pytest.raises(IdempotencyConflictError) as caught:
            await earn(session, member_id, amount, key="purchase:P-9", kind=kind)
        assert (caught.value.code, caught.value.status) == ("idempotency_conflict", 409)
        assert await count_rows(session, entries) == 1
        assert await figures(session, MEMBER, T0) == (50, 0, 50, 0, 0, 0)
        assert await figures(session, OTHER, T0) == (0, 0, 0, 0, 0, 0)


async def test_a_repeated_debit_returns_the_first_entry(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 30)
        first = await spend(session, MEMBER, 50, key="return:R-1", policy=ShortfallPolicy.CAP)
        again = await spend(session, MEMBER, 50, key="return:R-1", policy=ShortfallPolicy.CAP)
        assert again == first
        assert (first.amount, first.requested_amount) == (-30, -50)
        assert await count_rows(session, movements) == 1
        with pytest.raises(IdempotencyConflictError):
            await spend(session, MEMBER, 30, key="return:R-1")
        with pytest.raises(IdempotencyConflictError):
            await earn(session, MEMBER, 50, key="return:R-1")
        assert await figures(session, MEMBER, T0) == (0, 0, 30, 30, 0, 0)


async def test_a_debit_with_a_credit_key_is_a_conflict(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await earn(session, MEMBER, 30, key="k")
        with pytest.raises(IdempotencyConflictError):
            await spend(session, MEMBER, 30, key="k")
        assert await figures(session, MEMBER, T0) == (30, 0, 30, 0, 0, 0)


async def test_entries_are_paged_newest_first(database: Database) -> None:
    async with database.write() as session:
        for member in (MEMBER, OTHER):
            await service.open_account(session, member_id=member, now=T0)
        for amount in (1, 2, 3, 4, 5):
            await earn(session, MEMBER, amount)
            await earn(session, OTHER, 100 + amount)
        first = await service.entries(session, member_id=MEMBER, limit=2)
        second = await service.entries(session, member_id=MEMBER, limit=2, cursor=first.next_cursor)
        third = await service.entries(session, member_id=MEMBER, limit=2, cursor=second.next_cursor)
        whole = await service.entries(session, member_id=MEMBER, limit=5)
        # the cursor of before the convention, the last id in digits, is still read
        legacy_cursor = str(first.items[-1].id)
        legacy = await service.entries(session, member_id=MEMBER, limit=2, cursor=legacy_cursor)
    assert [item.amount for item in first.items] == [5, 4]
    assert [item.amount for item in second.items] == [3, 2]
    assert [item.amount for item in third.items] == [1]
    assert third.next_cursor is None
    assert first.next_cursor == EntryPage.cursor_of(first.items[-1].id)
    assert legacy == second
    assert [item.amount for item in whole.items] == [5, 4, 3, 2, 1]
    assert whole.next_cursor is None


@pytest.mark.parametrize(
    ("limit", "cursor", "field"), [(0, None, "limit"), (501, None, "limit"), (10, "x1", "cursor")]
)
async def test_entries_refuse_bad_paging(
    database: Database, limit: int, cursor: str | None, field: str
) -> None:
    async with database.read() as session:
        with pytest.raises(InvalidInputError) as caught:
            await service.entries(session, member_id=MEMBER, limit=limit, cursor=cursor)
    assert caught.value.field == field


async def test_a_repeated_credit_to_an_account_in_debt_changes_nothing(database: Database) -> None:
    async with database.write() as session:
        await service.open_account(session, member_id=MEMBER, now=T0)
        await spend(session, MEMBER, 40, policy=ShortfallPolicy.DEBT)
        first = await earn(session, MEMBER, 25, key="purchase:P-1")
        assert await figures(session, MEMBER, T0) == (-15, 0, 25, 40, 0, 15)
        again = await earn(session, MEMBER, 25, key="purchase:P-1", now=day(1))
        assert again == first
        assert (first.amount, first.debt_change) == (25, -25)
        assert await figures(session, MEMBER, day(1)) == (-15, 0, 25, 40, 0, 15)
        assert await count_rows(session, movements) == 1
        with pytest.raises(IdempotencyConflictError):
            await earn(session, MEMBER, 26, key="purchase:P-1")
        assert await figures(session, MEMBER, day(1)) == (-15, 0, 25, 40, 0, 15)
