"""Use cases of the points ledger: open an account, credit, debit, reverse, refund, balance.

Rules every write follows (definitions in :mod:`patron.ledger.lots`):

- It locks the account first (:func:`~patron.ledger.repository.lock_account_for_update`), then
  inserts entries, lots and lot movements, and moves the cached counters with one atomic
  ``UPDATE accounts SET x = x + :d``; nothing is read-modify-written in Python.
- Idempotency: an ``idempotency_key`` seen before with the same member, kind and requested
  amount returns the entry written the first time (nothing changes); with anything else it
  raises :class:`~patron.kit.errors.IdempotencyConflictError`.
- A debit first catches the account up to ``now`` (activates due pending lots, writes off due
  lots with ``expire`` entries) so that it spends exactly what a balance as of ``now`` shows.
  A refused debit raises before writing anything.
- Services never commit: the caller's unit of work does.

The daily jobs (:func:`activate_due`, :func:`expire_due`) live in :mod:`patron.ledger.jobs`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.time import utcnow
from patron.ledger.errors import InsufficientPointsError, ReversalExceedsEarningError
from patron.ledger.kinds import (
    CREDIT_KINDS,
    DEBIT_KINDS,
    EntryKind,
    MovementReason,
    ShortfallPolicy,
)
from patron.ledger.lots import balance_as_of, catch_up, plan_spend
from patron.ledger.repository import LedgerRepository, LockedAccount, lock_account_for_update
from patron.ledger.schemas import Balance, Entry, EntryPage
from patron.ledger.writes import CatchUpWrites, CounterDelta, entry_values, movement

MAX_PAGE = 500


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInputError("amount must be a positive whole number of points", field="amount")


def _check_kind(kind: EntryKind, allowed: frozenset[EntryKind]) -> None:
    if kind not in allowed:
        names = ", ".join(sorted(allowed))
        raise InvalidInputError(f"kind must be one of {names}, not {kind}", field="kind")


def _same_or_conflict(existing: Entry, *, member_id: int, kind: EntryKind, requested: int) -> Entry:
    """The entry a repeated request gets back, or a conflict if the request is not the same."""
    if (existing.member_id, existing.kind, existing.requested_amount) == (
        member_id,
        kind,
        requested,
    ):
        return existing
    raise IdempotencyConflictError(
        f"idempotency key {existing.idempotency_key!r} was already used for another change",
        field="idempotency_key",
    )


async def _existing(
    repo: LedgerRepository, key: str, *, member_id: int, kind: EntryKind, requested: int
) -> Entry | None:
    found = await repo.find_entry(key)
    if found is None:
        return None
    return _same_or_conflict(found, member_id=member_id, kind=kind, requested=requested)


async def open_account(
    session: AsyncSession, *, member_id: int, now: datetime | None = None
) -> Balance:
    """Open the member's points account (idempotent: an existing account is kept as it is)."""
    moment = now or utcnow()
    await LedgerRepository(session).insert_account(member_id, moment)
    return await balance(session, member_id=member_id, now=moment)


async def credit(
    session: AsyncSession,
    *,
    member_id: int,
    amount: int,
    kind: EntryKind,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    now: datetime,
    occurred_at: datetime | None = None,
    pending_until: datetime | None = None,
    expires_at: datetime | None = None,
    description: str = "",
    meta: dict[str, Any] | None = None,
) -> Entry:
    """Add ``amount`` points as a new lot (the purchase hot path: four round trips).

    The lot is pending while ``pending_until`` is in the future and never expires when
    ``expires_at`` is None (it must come after ``pending_until``). An active lot first repays
    debt; the account's due lots are caught up before that, so the oldest points repay first.
    """
    _check_kind(kind, CREDIT_KINDS)
    return await _credit(
        session,
        member_id=member_id,
        amount=amount,
        kind=kind,
        idempotency_key=idempotency_key,
        source=(source_type, source_id),
        now=now,
        occurred_at=occurred_at or now,
        window=(pending_until, expires_at),
        description=description,
        meta=meta,
    )


async def refund(
    session: AsyncSession,
    *,
    member_id: int,
    amount: int,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    now: datetime,
    expires_at: datetime | None = None,
    description: str = "",
    meta: dict[str, Any] | None = None,
) -> Entry:
    """Give back the points of a cancelled coupon as a new, active lot (a positive ``redeem``
    entry, so ``redeemed`` goes down)."""
    return await _credit(
        session,
        member_id=member_id,
        amount=amount,
        kind=EntryKind.REDEEM,
        idempotency_key=idempotency_key,
        source=(source_type, source_id),
        now=now,
        occurred_at=now,
        window=(None, expires_at),
        description=description,
        meta=meta,
    )


async def _credit(
    session: AsyncSession,
    *,
    member_id: int,
    amount: int,
    kind: EntryKind,
    idempotency_key: str,
    source: tuple[str, str],
    now: datetime,
    occurred_at: datetime,
    window: tuple[datetime | None, datetime | None],
    description: str,
    meta: dict[str, Any] | None,
) -> Entry:
    """Three round trips when the member has no debt: the counter ``UPDATE`` (it takes the
    account's row lock, like ``lock_account_for_update``, and returns the debt), the entry and
    the lot. A repeated key is found by the entry insert; the counters are then moved back."""
    _check_amount(amount)
    pending_until, expires_at = window
    if expires_at is not None and pending_until is not None and expires_at <= pending_until:
        raise InvalidInputError("expires_at must come after pending_until", field="expires_at")
    is_active = pending_until is None or pending_until <= now
    delta = CounterDelta()
    delta.add_entry(kind, amount)
    if is_active:
        delta.available += amount  # whatever repays debt: available = active - debt
    else:
        delta.pending += amount
    repo = LedgerRepository(session)
    account = await repo.lock_and_change_counters(member_id, delta.row(0, now))
    debt = account.debt
    if debt > 0:
        debt = await _catch_up_before_repaying(repo, account, idempotency_key, now)
    repaid = min(debt, amount) if is_active else 0
    values = entry_values(
        account, kind=kind, amount=amount, source=source, key=idempotency_key, now=now
    )
    values.update(
        debt_change=-repaid, occurred_at=occurred_at, description=description, meta=meta or {}
    )
    entry_id = await repo.insert_entry(values)
    if entry_id is None:
        await repo.change_counters([delta.reversed().row(account.id, now)])
        found = await repo.find_entry(idempotency_key)
        assert found is not None  # the key is taken, and entries are never deleted
        return _same_or_conflict(found, member_id=member_id, kind=kind, requested=amount)
    lot_id = await repo.insert_lot(
        {
            "account_id": account.id,
            "member_id": member_id,
            "entry_id": entry_id,
            "amount": amount,
            "remaining": amount - repaid,
            "pending_until": pending_until,
            "expires_at": expires_at,
            "is_active": is_active,
            "is_expired": False,
            "created_at": now,
        }
    )
    if repaid:
        await repo.insert_movements(
            [movement(account, lot_id, entry_id, MovementReason.REPAY, -repaid, now)]
        )
        await repo.change_counters([CounterDelta(debt=-repaid).row(account.id, now)])
    return Entry.model_validate({"id": entry_id, **values})


async def _catch_up_before_repaying(
    repo: LedgerRepository, account: LockedAccount, idempotency_key: str, now: datetime
) -> int:
    """The slow path of a credit to an account in debt: lots that became available earlier
    repay first (and their rest expires if due). Returns the debt left to repay.

    A repeated key skips the catch-up; the entry insert then finds it."""
    if await repo.find_entry(idempotency_key) is not None:
        return account.debt
    delta, writes = CounterDelta(), CatchUpWrites(now)
    caught_up = catch_up(await repo.due_lots(account.id, now), debt=account.debt, now=now)
    writes.add(account, caught_up, delta)
    await writes.flush(repo)
    await repo.change_counters([delta.row(account.id, now)])
    return caught_up.debt


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
    """Take ``amount`` points from the member's lots in burn order (see
    :mod:`patron.ledger.lots`); ``on_shortfall`` decides what happens when they are not enough.
    """
    _check_kind(kind, DEBIT_KINDS)
    _check_amount(amount)
    repo = LedgerRepository(session)
    account = await lock_account_for_update(session, member_id)
    found = await _existing(
        repo, idempotency_key, member_id=member_id, kind=kind, requested=-amount
    )
    if found is not None:
        return found
    return await _spend(
        repo,
        account,
        kind=kind,
        amount=amount,
        policy=on_shortfall,
        first_lot_id=None,
        fields={
            "source": (source_type, source_id),
            "key": idempotency_key,
            "description": description,
            "meta": meta or {},
        },
        now=now,
    )


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
    records the lot in ``lot_id``; all reversals of one lot together never exceed its amount.
    """
    _check_amount(amount)
    if (lot_id is None) == (entry_id is None):
        raise InvalidInputError("name exactly one of lot_id and entry_id", field="lot_id")
    repo = LedgerRepository(session)
    origin = await repo.lot_origin(lot_id=lot_id, entry_id=entry_id)
    account = await lock_account_for_update(session, origin.member_id)
    found = await _existing(
        repo,
        idempotency_key,
        member_id=origin.member_id,
        kind=EntryKind.REVERSE,
        requested=-amount,
    )
    if found is not None:
        return found
    reversible = origin.amount - await repo.reversed_total(origin.id)
    if amount > reversible:
        raise ReversalExceedsEarningError(lot_id=origin.id, requested=amount, reversible=reversible)
    return await _spend(
        repo,
        account,
        kind=EntryKind.REVERSE,
        amount=amount,
        policy=on_shortfall,
        first_lot_id=origin.id,
        fields={
            "source": (source_type, source_id),
            "key": idempotency_key,
            "description": description,
            "meta": meta or {},
        },
        now=now,
    )


async def _spend(
    repo: LedgerRepository,
    account: LockedAccount,
    *,
    kind: EntryKind,
    amount: int,
    policy: ShortfallPolicy,
    first_lot_id: int | None,
    fields: dict[str, Any],
    now: datetime,
) -> Entry:
    """Catch up, plan and write a debit of a locked account (its key checked as unused)."""
    lots = await repo.open_lots(account.id, now, also_lot_id=first_lot_id)
    caught_up, plan = plan_spend(
        lots, debt=account.debt, amount=amount, now=now, first_lot_id=first_lot_id
    )
    if plan.shortfall and policy is ShortfallPolicy.REFUSE:
        raise InsufficientPointsError(requested=amount, available=plan.taken - caught_up.debt)
    delta, writes = CounterDelta(), CatchUpWrites(now)
    writes.add(account, caught_up, delta)
    await writes.flush(repo)
    debt_change = plan.shortfall if policy is ShortfallPolicy.DEBT else 0
    values = entry_values(
        account,
        kind=kind,
        amount=-(plan.taken + debt_change),
        source=fields["source"],
        key=fields["key"],
        now=now,
    )
    values.update(
        requested_amount=-amount,
        debt_change=debt_change,
        lot_id=first_lot_id,
        description=fields["description"],
        meta=fields["meta"],
    )
    entry_id = await repo.insert_entry(values)
    if entry_id is None:  # taken meanwhile by an entry of another member
        raise IdempotencyConflictError(
            f"idempotency key {fields['key']!r} was already used for another change",
            field="idempotency_key",
        )
    reason = MovementReason.DEBIT
    await repo.take_from_lots([{"lot_id": t.lot_id, "take": t.amount} for t in plan.takes])
    await repo.insert_movements(
        [movement(account, t.lot_id, entry_id, reason, -t.amount, now) for t in plan.takes]
    )
    delta.add_entry(kind, values["amount"])
    delta.available -= plan.taken - plan.taken_from_pending + debt_change
    delta.pending -= plan.taken_from_pending
    delta.debt += debt_change
    await repo.change_counters([delta.row(account.id, now)])
    return Entry.model_validate({"id": entry_id, **values})


async def balance(session: AsyncSession, *, member_id: int, now: datetime) -> Balance:
    """The member's balance as of ``now``: lots due to activate count as available and lots
    due to expire as expired, whether or not the daily jobs have run."""
    repo = LedgerRepository(session)
    account_id, cache = await repo.counters(member_id)
    current = balance_as_of(cache, await repo.due_lots(account_id, now), now)
    return Balance(
        member_id=member_id,
        available=current.available,
        pending=current.pending,
        lifetime_earned=current.lifetime_earned,
        redeemed=current.redeemed,
        expired=current.expired,
        debt=current.debt,
        as_of=now,
    )


async def entries(
    session: AsyncSession, *, member_id: int, limit: int = 50, cursor: str | None = None
) -> EntryPage:
    """The member's entries, newest first, ``limit`` (1..500) per page."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    before_id: int | None = None
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidInputError("cursor is not one this endpoint gave out", field="cursor")
        before_id = int(cursor)
    items = await LedgerRepository(session).entries_page(member_id, limit + 1, before_id)
    has_more = len(items) > limit
    items = items[:limit]
    return EntryPage(items=items, next_cursor=str(items[-1].id) if has_more else None)
