"""Debiting points: redemptions, negative adjustments and transfers, and reversals of
earnings (returns). Lots are consumed in burn order (see :mod:`patron.ledger.lots`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.ledger.errors import InsufficientPointsError, ReversalExceedsEarningError
from patron.ledger.kinds import DEBIT_KINDS, EntryKind, MovementReason, ShortfallPolicy
from patron.ledger.lots import plan_spend
from patron.ledger.repository import LedgerRepository, LockedAccount, lock_account_for_update
from patron.ledger.schemas import Entry
from patron.ledger.writes import (
    CatchUpWrites,
    Change,
    CounterDelta,
    key_conflict,
    movement,
    repeated,
)


async def debit(
    session: AsyncSession,
    *,
    member_id: int,
    amount: int,
    kind: EntryKind,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    now: datetime,
    on_shortfall: ShortfallPolicy = ShortfallPolicy.REFUSE,
    description: str = "",
    meta: dict[str, Any] | None = None,
) -> Entry:
    """Take ``amount`` points from the member's lots in burn order; ``on_shortfall`` decides
    what happens when they are not enough (``refuse`` raises and changes nothing)."""
    change = Change(
        member_id, kind, amount, idempotency_key, source_type, source_id, description, meta or {}
    )
    change.check(DEBIT_KINDS)
    repo = LedgerRepository(session)
    account = await lock_account_for_update(session, member_id)
    found = await repeated(repo, change, requested=-amount)
    if found is not None:
        return found
    return await _spend(repo, account, change, on_shortfall, None, now)


async def reverse_lot(
    session: AsyncSession,
    *,
    amount: int,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    now: datetime,
    on_shortfall: ShortfallPolicy,
    lot_id: int | None = None,
    entry_id: int | None = None,
    description: str = "",
    meta: dict[str, Any] | None = None,
) -> Entry:
    """Take back ``amount`` points of an earning (a return), named by its lot or its entry.

    Takes first from what is left of that lot (pending or active), then from the member's other
    available lots in burn order, then applies ``on_shortfall``. The entry (kind ``reverse``)
    records the lot in ``lot_id``; all reversals of one lot together never exceed its amount
    (:class:`~patron.ledger.errors.ReversalExceedsEarningError`).
    """
    if (lot_id is None) == (entry_id is None):
        raise InvalidInputError("name exactly one of lot_id and entry_id", field="lot_id")
    change = Change(
        0,
        EntryKind.REVERSE,
        amount,
        idempotency_key,
        source_type,
        source_id,
        description,
        meta or {},
    )
    change.check(frozenset({EntryKind.REVERSE}))
    repo = LedgerRepository(session)
    origin = await repo.lot_origin(lot_id=lot_id, entry_id=entry_id)
    change = replace(change, member_id=origin.member_id)
    account = await lock_account_for_update(session, origin.member_id)
    found = await repeated(repo, change, requested=-amount)
    if found is not None:
        return found
    reversible = origin.amount - await repo.reversed_total(origin.id)
    if amount > reversible:
        raise ReversalExceedsEarningError(lot_id=origin.id, requested=amount, reversible=reversible)
    return await _spend(repo, account, change, on_shortfall, origin.id, now)


async def _spend(
    repo: LedgerRepository,
    account: LockedAccount,
    change: Change,
    policy: ShortfallPolicy,
    first_lot_id: int | None,
    now: datetime,
) -> Entry:
    """Catch up, plan and write a debit of a locked account whose key is unused.

    Round trips: the open lots, the entry, the lots' ``remaining``, the movements, the counters
    (plus the catch-up's writes when something was due)."""
    lots = await repo.open_lots(account.id, now, also_lot_id=first_lot_id)
    caught_up, plan = plan_spend(
        lots, debt=account.debt, amount=change.amount, now=now, first_lot_id=first_lot_id
    )
    if plan.shortfall and policy is ShortfallPolicy.REFUSE:
        available = plan.taken - caught_up.debt
        raise InsufficientPointsError(requested=change.amount, available=available)
    delta, writes = CounterDelta(), CatchUpWrites(now)
    writes.add(account, caught_up, delta)
    await writes.flush(repo)
    debt_change = plan.shortfall if policy is ShortfallPolicy.DEBT else 0
    amount = -(plan.taken + debt_change)
    values = change.entry_values(account, amount=amount, requested=-change.amount, now=now)
    values.update(debt_change=debt_change, lot_id=first_lot_id)
    entry_id = await repo.insert_entry(values)
    if entry_id is None:  # taken meanwhile by an entry of another member
        raise key_conflict(change.idempotency_key)
    await repo.take_from_lots([{"lot_id": t.lot_id, "take": t.amount} for t in plan.takes])
    reason = MovementReason.DEBIT
    await repo.insert_movements(
        [movement(account, t.lot_id, entry_id, reason, -t.amount, now) for t in plan.takes]
    )
    delta.add_entry(change.kind, amount)
    delta.available -= plan.taken - plan.taken_from_pending + debt_change
    delta.pending -= plan.taken_from_pending
    delta.debt += debt_change
    await repo.change_counters([delta.row(account.id, now)])
    return Entry.model_validate({"id": entry_id, **values})
