"""Table-driven tests of the pure lot arithmetic, with exact integers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patron.ledger.kinds import EntryKind
from patron.ledger.lots import (
    Activation,
    Counters,
    Expiration,
    LotState,
    Take,
    balance_as_of,
    burn_key,
    catch_up,
    counter_deltas,
    plan_debit,
    plan_spend,
)

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def lot(
    lot_id: int,
    remaining: int,
    *,
    created: float = 0,
    expires: float | None = None,
    pending: float | None = None,
    expired: bool = False,
) -> LotState:
    return LotState(
        id=lot_id,
        remaining=remaining,
        created_at=day(created),
        pending_until=None if pending is None else day(pending),
        expires_at=None if expires is None else day(expires),
        is_active=pending is None,
        is_expired=expired,
    )


# A: expires day 30; B: expires day 10 (created later than D); C: never, oldest;
# D: expires day 10, created first; E: never, newer than C.
WALLET = [
    lot(1, 100, created=0, expires=30),
    lot(2, 100, created=2, expires=10),
    lot(3, 100, created=-5),
    lot(4, 50, created=1, expires=10),
    lot(5, 70, created=3),
]


def test_burn_order_is_soonest_expiry_then_oldest_then_never() -> None:
    assert [item.id for item in sorted(WALLET, key=burn_key)] == [4, 2, 1, 3, 5]


def test_burn_order_breaks_ties_by_id() -> None:
    twins = [lot(9, 1, created=0, expires=5), lot(8, 1, created=0, expires=5)]
    assert [item.id for item in sorted(twins, key=burn_key)] == [8, 9]


@pytest.mark.parametrize(
    ("amount", "takes", "shortfall"),
    [
        (1, [(4, 1)], 0),
        (50, [(4, 50)], 0),
        (51, [(4, 50), (2, 1)], 0),
        (180, [(4, 50), (2, 100), (1, 30)], 0),
        (250, [(4, 50), (2, 100), (1, 100)], 0),
        (300, [(4, 50), (2, 100), (1, 100), (3, 50)], 0),
        (420, [(4, 50), (2, 100), (1, 100), (3, 100), (5, 70)], 0),
        (500, [(4, 50), (2, 100), (1, 100), (3, 100), (5, 70)], 80),
    ],
)
def test_plan_debit_takes_in_burn_order(
    amount: int, takes: list[tuple[int, int]], shortfall: int
) -> None:
    plan = plan_debit(WALLET, amount=amount, now=day(1))
    assert [(take.lot_id, take.amount) for take in plan.takes] == takes
    assert plan.shortfall == shortfall
    assert plan.taken == amount - shortfall


def test_lot_due_to_expire_at_now_is_not_spendable() -> None:
    plan = plan_debit(WALLET, amount=100, now=day(10))
    assert plan.takes == (Take(1, 100, is_pending=False),)


def test_pending_and_expired_lots_are_not_spendable() -> None:
    lots = [lot(1, 40, pending=5), lot(2, 40, expired=True), lot(3, 0), lot(4, 25)]
    plan = plan_debit(lots, amount=100, now=day(1))
    assert plan.takes == (Take(4, 25, is_pending=False),)
    assert plan.shortfall == 75


def test_first_lot_is_taken_first_even_while_pending() -> None:
    lots = [lot(1, 40, expires=2), lot(2, 30, pending=5, expires=40)]
    plan = plan_debit(lots, amount=50, now=day(1), first_lot_id=2)
    assert plan.takes == (Take(2, 30, is_pending=True), Take(1, 20, is_pending=False))
    assert plan.taken_from_pending == 30


def test_first_lot_due_to_expire_is_skipped() -> None:
    lots = [lot(1, 40, expires=2), lot(2, 30)]
    plan = plan_debit(lots, amount=50, now=day(2), first_lot_id=1)
    assert plan.takes == (Take(2, 30, is_pending=False),)
    assert plan.shortfall == 20


@pytest.mark.parametrize("amount", [0, -5])
def test_plan_debit_refuses_non_positive_amounts(amount: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_debit(WALLET, amount=amount, now=day(1))


def test_plan_spend_activates_a_lot_due_at_now_and_spends_it() -> None:
    lots = [lot(1, 40, pending=3), lot(2, 10, created=-1)]
    caught_up, plan = plan_spend(lots, debt=0, amount=45, now=day(3))
    assert caught_up.activations == (Activation(1, 40, 0),)
    assert plan.takes == (Take(2, 10, is_pending=False), Take(1, 35, is_pending=False))


def test_catch_up_repays_debt_oldest_pending_first_then_expires_the_rest() -> None:
    lots = [
        lot(1, 30, created=0, pending=2, expires=4),
        lot(2, 50, created=-1, pending=3),
        lot(3, 20, created=0, pending=9),
    ]
    result = catch_up(lots, debt=40, now=day(5))
    assert result.activations == (Activation(1, 30, 30), Activation(2, 50, 10))
    assert result.expirations == ()  # lot 1 repaid everything it had
    assert result.debt == 0
    assert {item.id: (item.remaining, item.is_active) for item in result.lots} == {
        1: (0, True),
        2: (40, True),
        3: (20, False),
    }


def test_catch_up_expires_what_a_lot_keeps_after_repaying() -> None:
    lots = [lot(1, 30, pending=2, expires=4), lot(2, 25, expires=4.5)]
    result = catch_up(lots, debt=0, now=day(5))
    assert result.expirations == (Expiration(1, 30, day(4)), Expiration(2, 25, day(4.5)))
    result = catch_up([lot(1, 30, pending=2, expires=4)], debt=12, now=day(5))
    assert result.activations == (Activation(1, 30, 12),)
    assert result.expirations == (Expiration(1, 18, day(4)),)
    assert (result.activated, result.repaid, result.expired, result.debt) == (30, 12, 18, 0)


def test_catch_up_without_expiry_only_activates() -> None:
    result = catch_up([lot(1, 30, pending=2, expires=4)], debt=0, now=day(5), expire=False)
    assert result.activations == (Activation(1, 30, 0),)
    assert result.expirations == ()


@pytest.mark.parametrize(
    ("kind", "amount", "deltas"),
    [
        (EntryKind.EARN, 100, (100, 0, 0)),
        (EntryKind.BONUS, 5, (5, 0, 0)),
        (EntryKind.REVERSE, -40, (-40, 0, 0)),
        (EntryKind.ADJUST, 7, (7, 0, 0)),
        (EntryKind.ADJUST, -7, (0, 0, 0)),
        (EntryKind.REDEEM, -300, (0, 300, 0)),
        (EntryKind.REDEEM, 300, (0, -300, 0)),
        (EntryKind.EXPIRE, -12, (0, 0, 12)),
        (EntryKind.TRANSFER, 9, (0, 0, 0)),
        (EntryKind.TRANSFER, -9, (0, 0, 0)),
    ],
)
def test_counter_deltas(kind: EntryKind, amount: int, deltas: tuple[int, int, int]) -> None:
    assert counter_deltas(kind, amount) == deltas


def test_balance_as_of_counts_due_activations_and_expiries() -> None:
    cache = Counters(available=-15, pending=80, lifetime_earned=500, redeemed=100, debt=15)
    due = [lot(1, 30, pending=2, expires=6), lot(2, 50, pending=3)]
    assert balance_as_of(cache, due, day(4)) == Counters(
        available=65, pending=0, lifetime_earned=500, redeemed=100, expired=0, debt=0
    )
    # Day 7: lot 1 repaid 15, then its other 15 expired.
    assert balance_as_of(cache, due, day(7)) == Counters(
        available=50, pending=0, lifetime_earned=500, redeemed=100, expired=15, debt=0
    )


def test_balance_as_of_ignores_lots_not_yet_due() -> None:
    cache = Counters(available=100, pending=20, lifetime_earned=120)
    lots = [lot(1, 100, expires=10), lot(2, 20, pending=5)]
    assert balance_as_of(cache, lots, day(4)) == cache
    assert balance_as_of(cache, lots, day(10)) == Counters(
        available=20, pending=0, lifetime_earned=120, expired=100
    )
