"""Property test against the real database: random sequences of credits, debits, reversals,
refunds and daily jobs at random times keep every invariant.

After every step: ``verify`` finds no breach; the balance as of now moved exactly as the step
says (a refused step changed nothing; a retried write returns its first entry); available is
negative only as debt, and debt exists only if a step chose the ``debt`` policy; a debit
consumed lots in burn order; the daily jobs do not change a balance as of now.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.ledger import service
from patron.ledger.errors import InsufficientPointsError, ReversalExceedsEarningError
from patron.ledger.jobs import activate_due, expire_due
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.models import accounts, entries, lots, movements
from patron.ledger.repository import LedgerRepository
from patron.ledger.schemas import Balance, Entry
from patron.ledger.verify import verify
from tests.ledger.factories import T0, count_rows, lot_rows, movement_rows

MEMBER = 9009
END = T0 + timedelta(days=10_000)
_keys = itertools.count()

hours = st.integers(min_value=0, max_value=24 * 30)
policies = st.sampled_from(list(ShortfallPolicy))
credit_step = st.tuples(
    st.just("credit"),
    st.integers(1, 200),
    st.one_of(st.none(), hours),
    st.one_of(st.none(), hours),
)
debit_step = st.tuples(st.just("debit"), st.integers(1, 300), policies)
reverse_step = st.tuples(st.just("reverse"), st.integers(0, 50), st.integers(1, 200), policies)
other_step = st.tuples(
    st.sampled_from(["refund", "activate", "expire", "retry"]), st.integers(1, 100)
)
steps = st.lists(
    st.tuples(hours, st.one_of(credit_step, credit_step, debit_step, reverse_step, other_step)),
    min_size=1,
    max_size=18,
)


@dataclass
class Run:
    session: AsyncSession
    now: datetime = T0
    earnings: list[Entry] = field(default_factory=list)
    reversed: dict[int, int] = field(default_factory=dict)
    used_debt: bool = False
    last: tuple[Callable[..., Awaitable[Entry]], Entry] | None = None

    def key(self) -> str:
        return f"seq:{next(_keys)}"

    async def balance(self) -> Balance:
        return await service.balance(self.session, member_id=MEMBER, now=self.now)


def _burn_order(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Spendable lots in burn order, written out again from the definition."""
    spendable = [
        row
        for row in rows
        if row["remaining"] > 0
        and not row["is_expired"]
        and (row["is_active"] or row["pending_until"] <= now)
        and (row["expires_at"] is None or row["expires_at"] > now)
    ]
    return sorted(
        spendable,
        key=lambda row: (
            row["expires_at"] is None,
            row["expires_at"] or now,
            row["created_at"],
            row["id"],
        ),
    )


def _greedy(order: list[dict[str, Any]], amount: int) -> list[tuple[int, str, int]]:
    takes = []
    for row in order:
        if amount == 0:
            break
        take = min(amount, row["remaining"])
        takes.append((row["id"], "debit", -take))
        amount -= take
    return takes


async def _credit(run: Run, amount: int, pending: int | None, life: int | None) -> None:
    before = await run.balance()
    pending_until = None if pending is None else run.now + timedelta(hours=pending)
    start = pending_until or run.now
    expires_at = None if life is None else start + timedelta(hours=life + 1)
    call = partial(
        service.credit,
        run.session,
        member_id=MEMBER,
        amount=amount,
        kind=EntryKind.EARN,
        idempotency_key=run.key(),
        source_type="purchase",
        source_id="P",
        pending_until=pending_until,
        expires_at=expires_at,
    )
    entry = await call(now=run.now)
    run.earnings.append(entry)
    run.last = (call, entry)
    after = await run.balance()
    if pending_until is None or pending_until <= run.now:
        assert after.available == before.available + amount
        assert after.pending == before.pending
    else:
        assert (after.available, after.pending) == (before.available, before.pending + amount)
    assert after.lifetime_earned == before.lifetime_earned + amount


async def _debit(run: Run, amount: int, policy: ShortfallPolicy) -> None:
    before = await run.balance()
    rows = await lot_rows(run.session, MEMBER)
    count = await count_rows(run.session, entries)
    _, cache = await LedgerRepository(run.session).counters(MEMBER)
    cached_debt = cache.debt
    spendable = max(before.available, 0)
    call = partial(
        service.debit,
        run.session,
        member_id=MEMBER,
        amount=amount,
        kind=EntryKind.REDEEM,
        idempotency_key=run.key(),
        source_type="reward",
        source_id="R",
        on_shortfall=policy,
    )
    try:
        entry = await call(now=run.now)
    except InsufficientPointsError:
        assert policy is ShortfallPolicy.REFUSE
        assert amount > spendable
        assert await run.balance() == before
        assert await count_rows(run.session, entries) == count
        assert await lot_rows(run.session, MEMBER) == rows
        return
    run.last = (call, entry)
    taken = min(amount, spendable)
    expected = -taken if policy is ShortfallPolicy.CAP else -amount
    assert entry.amount == expected
    run.used_debt |= policy is ShortfallPolicy.DEBT and amount > spendable
    after = await run.balance()
    assert after.available == before.available + expected
    assert after.redeemed == before.redeemed - expected
    if cached_debt == 0:
        wanted = _greedy(_burn_order(rows, run.now), taken)
        assert await movement_rows(run.session, entry.id) == wanted


async def _reverse(run: Run, pick: int, amount: int, policy: ShortfallPolicy) -> None:
    if not run.earnings:
        return
    earning = run.earnings[pick % len(run.earnings)]
    before = await run.balance()
    rows = await lot_rows(run.session, MEMBER)
    own = next(row for row in rows if row["entry_id"] == earning.id)
    own_pending = 0
    if not own["is_active"] and own["pending_until"] > run.now:
        own_pending = own["remaining"]
    reachable = max(before.available, 0) + own_pending
    call = partial(
        service.reverse_lot,
        run.session,
        entry_id=earning.id,
        amount=amount,
        idempotency_key=run.key(),
        source_type="return",
        source_id="X",
        on_shortfall=policy,
    )
    reversible = earning.amount - run.reversed.get(earning.id, 0)
    try:
        entry = await call(now=run.now)
    except ReversalExceedsEarningError:
        assert amount > reversible
        assert await run.balance() == before
        return
    except InsufficientPointsError:
        assert policy is ShortfallPolicy.REFUSE
        assert amount > reachable
        assert await run.balance() == before
        return
    assert amount <= reversible
    run.last = (call, entry)
    run.reversed[earning.id] = run.reversed.get(earning.id, 0) - entry.amount
    taken = min(amount, reachable)
    assert entry.amount == (-taken if policy is ShortfallPolicy.CAP else -amount)
    run.used_debt |= policy is ShortfallPolicy.DEBT and amount > reachable
    after = await run.balance()
    assert after.available + after.pending == before.available + before.pending + entry.amount
    assert after.lifetime_earned == before.lifetime_earned + entry.amount
    assert after.pending == before.pending - min(own_pending, amount)


async def _other(run: Run, name: str, amount: int) -> None:
    before = await run.balance()
    if name == "refund":
        await service.refund(
            run.session,
            member_id=MEMBER,
            amount=amount,
            idempotency_key=run.key(),
            source_type="coupon",
            source_id="C",
            now=run.now,
        )
        after = await run.balance()
        assert after.available == before.available + amount
        assert after.redeemed == before.redeemed - amount
        return
    job = activate_due if name == "activate" else expire_due
    await job(run.session, now=run.now)
    assert await run.balance() == before
    assert await job(run.session, now=run.now) == 0
    assert await run.balance() == before


async def _retry(run: Run) -> None:
    """The last write again with its key: the same entry comes back, nothing changes."""
    if run.last is None:
        return
    call, entry = run.last
    before = await run.balance()
    count = await count_rows(run.session, entries)
    assert await call(now=run.now) == entry
    assert await run.balance() == before
    assert await count_rows(run.session, entries) == count


async def _step(run: Run, action: tuple[Any, ...]) -> None:
    name = action[0]
    if name == "credit":
        await _credit(run, *action[1:])
    elif name == "debit":
        await _debit(run, *action[1:])
    elif name == "reverse":
        await _reverse(run, *action[1:])
    elif name == "retry":
        await _retry(run)
    else:
        await _other(run, name, action[1])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps)
async def test_random_sequences_keep_every_invariant(
    database: Database, sequence: list[tuple[int, tuple[Any, ...]]]
) -> None:
    async with database.write() as session:
        for table in (movements, lots, entries, accounts):
            await session.execute(delete(table))
        await service.open_account(session, member_id=MEMBER, now=T0)
        run = Run(session)
        for advance, action in sequence:
            run.now += timedelta(hours=advance)
            await _step(run, action)
            assert await verify(session, now=END) == []
            current = await run.balance()
            if current.debt:
                assert run.used_debt
                assert current.available == -current.debt
            else:
                assert current.available >= 0
        await activate_due(session, now=run.now)
        await expire_due(session, now=run.now)
        assert await run.balance() == current
        assert await verify(session, now=END) == []
