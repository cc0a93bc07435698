"""Use cases of the wallet: credit (cashback), spend (at a purchase), reverse and refund (at a
return), read; an admin's correction is :mod:`.adjust`. Services never commit; each write
locks the wallet first (:mod:`.repository`) and is idempotent by its entry's key (the same
key again returns the entry written before, and writes and emits nothing). Every new entry
emits ``wallet.credited`` or ``wallet.debited`` in the caller's unit of work.

Amounts are integers in minor units of the wallet's currency, the program's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.kit.money import format_amount
from patron.kit.outbox import emit_many
from patron.wallet.errors import (
    InsufficientWalletError,
    WalletAlreadySpentError,
    WalletEntryConflictError,
)
from patron.wallet.events import WalletCredited, WalletDebited
from patron.wallet.models import WalletEntry, WalletEntryKind
from patron.wallet.repository import LockedWallet, WalletRepository
from patron.wallet.schemas import WalletEntryRead, WalletPage

MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Written:
    """An entry and whether this call wrote it (``False``: its key was taken before)."""

    entry: WalletEntry
    written: bool


def _same_or_conflict(found: WalletEntry, member_id: int, amount: int) -> Written:
    if found.member_id != member_id or found.amount != amount:
        raise WalletEntryConflictError(
            f"wallet entry {found.idempotency_key!r} was written before with another amount",
            field="idempotency_key",
        )
    return Written(found, False)


async def _write(
    session: AsyncSession,
    wallet: LockedWallet,
    *,
    program_id: int,
    kind: WalletEntryKind,
    amount: int,
    key: str,
    source_type: str,
    source_id: str,
    purchase_id: int | None,
    description: str,
    occurred_at: datetime,
    now: datetime,
) -> WalletEntry:
    entry = await WalletRepository(session).append(
        wallet,
        kind=kind,
        amount=amount,
        idempotency_key=key,
        source_type=source_type,
        source_id=source_id,
        purchase_id=purchase_id,
        description=description,
        occurred_at=occurred_at,
        now=now,
    )
    event_type = WalletCredited if amount > 0 else WalletDebited
    event = event_type(
        member_id=wallet.member_id,
        entry_id=entry.id,
        kind=kind.value,
        amount=abs(amount),
        currency=wallet.currency,
        balance=entry.balance_after,
        source=source_type,
        purchase_id=purchase_id,
    )
    await emit_many(session, [event], program_id=program_id, occurred_at=now)
    return entry


def _check_currency(wallet: LockedWallet, currency: str) -> None:
    if wallet.currency != currency:
        raise InvalidInputError(
            f"the member's wallet holds {wallet.currency}, not {currency}", field="currency"
        )


async def credit(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int,
    currency: str,
    amount: int,
    idempotency_key: str,
    source_type: str,
    source_id: str,
    purchase_id: int | None = None,
    description: str = "",
    occurred_at: datetime,
    now: datetime,
) -> Written:
    """Credit ``amount`` (> 0) to the member's wallet (created on first use)."""
    if amount <= 0:
        raise InvalidInputError("a wallet credit must be above 0", field="amount")
    repository = WalletRepository(session)
    wallet = await repository.lock(member_id, currency, now)
    found = await repository.entry_by_key(idempotency_key)
    if found is not None:
        return _same_or_conflict(found, member_id, amount)
    _check_currency(wallet, currency)
    entry = await _write(
        session,
        wallet,
        program_id=program_id,
        kind=WalletEntryKind.CREDIT,
        amount=amount,
        key=idempotency_key,
        source_type=source_type,
        source_id=source_id,
        purchase_id=purchase_id,
        description=description,
        occurred_at=occurred_at,
        now=now,
    )
    return Written(entry, True)


async def spend_for_purchase(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int,
    currency: str,
    amount: int,
    purchase_id: int,
    description: str,
    occurred_at: datetime,
    now: datetime,
) -> Written:
    """Pay ``amount`` (> 0) of purchase ``purchase_id`` from the member's wallet, keyed
    ``purchase:<id>``; more than the balance is 422 ``wallet_insufficient`` (field
    ``wallet_amount``) and writes nothing."""
    repository = WalletRepository(session)
    wallet = await repository.lock(member_id, currency, now)
    key = f"purchase:{purchase_id}"
    found = await repository.entry_by_key(key)
    if found is not None:
        return _same_or_conflict(found, member_id, -amount)
    _check_currency(wallet, currency)
    if amount > wallet.balance:
        raise InsufficientWalletError(requested=amount, balance=wallet.balance)
    entry = await _write(
        session,
        wallet,
        program_id=program_id,
        kind=WalletEntryKind.SPEND,
        amount=-amount,
        key=key,
        source_type="purchase",
        source_id=str(purchase_id),
        purchase_id=purchase_id,
        description=description,
        occurred_at=occurred_at,
        now=now,
    )
    return Written(entry, True)


def reversal_target(credited: int, refunded: int, paid_for_goods: int) -> int:
    """Total cashback a purchase has taken back once ``refunded`` money has been given back:
    ``floor(credited x refunded / paid_for_goods)``, all of it once fully refunded (the
    points' rule, :func:`patron.purchases.returns.reversal_target`)."""
    if paid_for_goods <= 0 or refunded >= paid_for_goods:
        return credited
    return credited * refunded // paid_for_goods


async def reverse_for_purchase(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int,
    currency: str,
    purchase_id: int,
    refunded: int,
    paid_for_goods: int,
    idempotency_key: str,
    source_id: str,
    refuse_when_spent: bool,
    occurred_at: datetime,
    now: datetime,
) -> Written | None:
    """Take back the share of purchase ``purchase_id``'s cashback that its refunds call for
    (cumulative, so rounding never drifts). The wallet never goes below 0: when the member has
    spent the cashback, ``refuse_when_spent`` raises 409 ``wallet_already_spent``, otherwise
    only the balance is taken. ``None`` when nothing is to be taken back."""
    repository = WalletRepository(session)
    if await repository.find(member_id) is None:
        return None
    wallet = await repository.lock(member_id, currency, now)
    found = await repository.entry_by_key(idempotency_key)
    if found is not None:
        return Written(found, False)
    sums = await repository.purchase_sums(purchase_id)
    due = reversal_target(sums.credited, refunded, paid_for_goods) - sums.reversed
    if due <= 0:
        return None
    if due > wallet.balance:
        if refuse_when_spent:
            raise WalletAlreadySpentError(
                "the member has already spent the cashback this return takes back, and the "
                "program refuses such returns"
            )
        due = wallet.balance
    if due <= 0:
        return None
    entry = await _write(
        session,
        wallet,
        program_id=program_id,
        kind=WalletEntryKind.REVERSE,
        amount=-due,
        key=idempotency_key,
        source_type="return",
        source_id=source_id,
        purchase_id=purchase_id,
        description=f"return of purchase {purchase_id}",
        occurred_at=occurred_at,
        now=now,
    )
    return Written(entry, True)


async def refund_for_purchase(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int,
    currency: str,
    purchase_id: int,
    refunded: int,
    paid_for_goods: int,
    at_most: int,
    idempotency_key: str,
    source_id: str,
    occurred_at: datetime,
    now: datetime,
) -> Written | None:
    """Give back to the wallet the share of what it paid of purchase ``purchase_id`` that its
    refunds call for, by the points' proportion (:func:`reversal_target`: cumulative,
    ``floor(spent x refunded / paid_for_goods)``, all of it once fully refunded), never more
    than ``at_most`` (this return's refund), as a ``refund`` entry keyed ``idempotency_key``.
    ``None`` when nothing is due."""
    repository = WalletRepository(session)
    if await repository.find(member_id) is None:
        return None
    wallet = await repository.lock(member_id, currency, now)
    found = await repository.entry_by_key(idempotency_key)
    if found is not None:
        return Written(found, False)
    sums = await repository.purchase_sums(purchase_id)
    due = min(reversal_target(sums.spent, refunded, paid_for_goods) - sums.refunded, at_most)
    if due <= 0:
        return None
    entry = await _write(
        session,
        wallet,
        program_id=program_id,
        kind=WalletEntryKind.REFUND,
        amount=due,
        key=idempotency_key,
        source_type="return",
        source_id=source_id,
        purchase_id=purchase_id,
        description=f"return of purchase {purchase_id}: paid from the wallet",
        occurred_at=occurred_at,
        now=now,
    )
    return Written(entry, True)


async def balance(session: AsyncSession, *, member_id: int) -> int:
    """The member's wallet balance (0 without a wallet)."""
    wallet = await WalletRepository(session).find(member_id)
    return 0 if wallet is None else wallet.balance


def entry_read(entry: WalletEntry, currency: str) -> WalletEntryRead:
    return WalletEntryRead(
        id=entry.id,
        kind=entry.kind.value,
        amount=format_amount(entry.amount, currency),
        balance_after=format_amount(entry.balance_after, currency),
        purchase_id=entry.purchase_id,
        source_type=entry.source_type,
        source_id=entry.source_id,
        description=entry.description,
        occurred_at=entry.occurred_at,
        created_at=entry.created_at,
    )


async def wallet_page(
    session: AsyncSession,
    *,
    member_id: int,
    currency: str,
    limit: int = 50,
    cursor: str | None = None,
) -> WalletPage:
    """The member's balance and entries, newest first, ``limit`` (1..500) per page;
    ``cursor`` is the ``next_cursor`` of the page before (as the ledger's history)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE},
        )
    before_id = WalletPage.resume_legacy_digits(cursor)
    repository = WalletRepository(session)
    wallet = await repository.find(member_id)
    shown = wallet.currency if wallet is not None else currency
    items = await repository.page(member_id, limit + 1, before_id)
    has_more = len(items) > limit
    items = items[:limit]
    return WalletPage(
        member_id=member_id,
        currency=shown,
        balance=format_amount(wallet.balance if wallet is not None else 0, shown),
        items=[entry_read(entry, shown) for entry in items],
        next_cursor=WalletPage.cursor_of(items[-1].id) if has_more else None,
    )
