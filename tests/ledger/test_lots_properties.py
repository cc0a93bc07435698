"""Property tests of the pure lot arithmetic over random wallets and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from patron.ledger.lots import (
    Counters,
    LotState,
    balance_as_of,
    burn_key,
    catch_up,
    is_due_to_expire,
    plan_spend,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
hours = st.integers(min_value=0, max_value=24 * 60)


@st.composite
def wallets(draw: st.DrawFn) -> tuple[list[LotState], int]:
    """Lots as the ledger can hold them, and a debt: while there is debt, no active lot that
    is not due to expire has points left (an active lot repays debt first)."""
    debt = draw(st.sampled_from([0, 0, draw(st.integers(1, 500))]))
    lots: list[LotState] = []
    for lot_id in range(1, draw(st.integers(0, 8)) + 1):
        created = T0 + timedelta(hours=draw(hours))
        pending = draw(st.one_of(st.none(), hours))
        pending_until = None if pending is None else created + timedelta(hours=pending + 1)
        start = pending_until or created
        life = draw(st.one_of(st.none(), hours))
        expires_at = None if life is None else start + timedelta(hours=life + 1)
        is_active = pending_until is None
        remaining = 0 if is_active and debt else draw(st.integers(0, 300))
        lots.append(LotState(lot_id, remaining, created, pending_until, expires_at, is_active))
    return lots, debt


@given(wallets(), st.integers(1, 2000), hours)
def test_a_debit_plan_is_greedy_in_burn_order(
    wallet: tuple[list[LotState], int], amount: int, offset: int
) -> None:
    lots, debt = wallet
    now = T0 + timedelta(hours=offset)
    caught_up, plan = plan_spend(lots, debt=debt, amount=amount, now=now)
    spendable = sorted(
        (
            item
            for item in caught_up.lots
            if item.is_active and item.remaining > 0 and not is_due_to_expire(item, now)
        ),
        key=burn_key,
    )
    assert plan.taken + plan.shortfall == amount
    taken = [take.lot_id for take in plan.takes]
    assert taken == [item.id for item in spendable[: len(taken)]]
    by_id = {item.id: item for item in spendable}
    for take in plan.takes[:-1]:
        assert take.amount == by_id[take.lot_id].remaining
    if plan.takes:
        assert 0 < plan.takes[-1].amount <= by_id[plan.takes[-1].lot_id].remaining
    if plan.shortfall:
        assert plan.taken == sum(item.remaining for item in spendable)
    assert caught_up.debt == 0 or plan.taken == 0


@given(wallets(), hours, hours)
def test_catching_up_in_two_steps_equals_one_step(
    wallet: tuple[list[LotState], int], first: int, second: int
) -> None:
    lots, debt = wallet
    early, late = sorted([T0 + timedelta(hours=first), T0 + timedelta(hours=second)])
    once = catch_up(lots, debt=debt, now=late)
    step = catch_up(lots, debt=debt, now=early)
    twice = catch_up(step.lots, debt=step.debt, now=late)
    assert sorted(twice.lots, key=lambda item: item.id) == sorted(once.lots, key=lambda i: i.id)
    assert twice.debt == once.debt
    assert step.expired + twice.expired == once.expired
    assert step.repaid + twice.repaid == once.repaid


@given(wallets(), hours)
def test_balance_as_of_conserves_points(wallet: tuple[list[LotState], int], offset: int) -> None:
    lots, debt = wallet
    now = T0 + timedelta(hours=offset)
    active = sum(item.remaining for item in lots if item.is_active)
    pending = sum(item.remaining for item in lots if not item.is_active)
    cache = Counters(available=active - debt, pending=pending, debt=debt)
    current = balance_as_of(cache, lots, now)
    assert current.available + current.pending + current.expired == active + pending - debt
    assert 0 <= current.debt <= debt
    assert current.available >= -current.debt
    assert current.available < 0 or current.debt == 0
    after = catch_up(lots, debt=debt, now=now)
    assert (
        current.available
        == sum(item.remaining for item in after.lots if item.is_active and not item.is_expired)
        - after.debt
    )
