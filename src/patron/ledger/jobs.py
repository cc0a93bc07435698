"""The ledger's daily jobs: activate pending lots that are due, expire lots that are due.

Both are idempotent (a second run at the same ``now`` finds nothing due and changes nothing)
and may run in either order or not at all: balances are reported as of now anyway, and every
debit catches its account up first. They walk the accounts with due lots in batches, lock each
batch in id order (``FOR UPDATE`` on PostgreSQL, so they never deadlock with each other and
wait for any debit in flight), and write with a few statements per batch. They never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger.due import DueLotsRepository
from patron.ledger.lots import catch_up
from patron.ledger.repository import LedgerRepository
from patron.ledger.writes import CatchUpWrites, CounterDelta


async def activate_due(session: AsyncSession, *, now: datetime, batch_size: int = 500) -> int:
    """Make pending lots whose ``pending_until <= now`` available (repaying any debt first).

    Returns how many lots were activated.
    """
    return await _run(session, now=now, batch_size=batch_size, expiring=False)


async def expire_due(session: AsyncSession, *, now: datetime, batch_size: int = 500) -> int:
    """Write off the points left in lots whose ``expires_at <= now``, one ``expire`` entry per
    lot dated at its ``expires_at``. An account with a lot due is first fully caught up (its
    due pending lots activate and repay debt) so that the outcome does not depend on which job
    ran first. Returns how many lots expired."""
    return await _run(session, now=now, batch_size=batch_size, expiring=True)


async def _run(session: AsyncSession, *, now: datetime, batch_size: int, expiring: bool) -> int:
    repo, due = LedgerRepository(session), DueLotsRepository(session)
    count, after = 0, 0
    while True:
        account_ids = await due.accounts_with_due_lots(
            now, expiring=expiring, after=after, limit=batch_size
        )
        if not account_ids:
            return count
        locked = await due.lock_accounts(account_ids)
        lots = await due.lots_of_accounts(account_ids, now, expiring=expiring)
        writes, rows = CatchUpWrites(now), []
        for account in locked:
            caught_up = catch_up(
                lots.get(account.id, []), debt=account.debt, now=now, expire=expiring
            )
            delta = CounterDelta()
            writes.add(account, caught_up, delta)
            rows.append(delta.row(account.id, now))
            count += len(caught_up.expirations if expiring else caught_up.activations)
        await writes.flush(repo)
        await repo.change_counters(rows)
        after = account_ids[-1]
