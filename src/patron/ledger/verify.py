"""``patron verify`` for points: prove that every account's cache, entries and lots agree.

Checked for every account (definitions in :mod:`patron.ledger.lots`):

- ``entries_total``: cached available + pending = Σ entries.
- ``lots_total``: Σ lots.remaining − debt = Σ entries.
- ``available`` / ``pending``: the cache equals the sums over active unexpired / pending lots
  (minus debt for available).
- ``debt``: debt = Σ entries.debt_change + Σ repayments made when pending lots activated.
- ``debt_with_points``: while there is debt, no active lot has points left.
- ``lifetime_earned``, ``redeemed``, ``expired``: the counters match their definitions.
- ``lot_bounds``: 0 <= remaining <= amount; ``lot_movements``: remaining = amount + Σ movements;
  ``lot_state``: an expired lot is active and has nothing left.
- ``entry_movements``: every entry = (the lot it created) + Σ its lot movements − debt_change,
  so a debit's movements and its debt add up to it.
- ``entry_in_future``: no entry was created after ``now`` (a clock that ran ahead).

The checks run as a handful of aggregate queries; only breaches come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger.kinds import EntryKind
from patron.ledger.models import accounts, entries, lots, movements


class Check(StrEnum):
    ENTRIES_TOTAL = "entries_total"
    LOTS_TOTAL = "lots_total"
    AVAILABLE = "available"
    PENDING = "pending"
    DEBT = "debt"
    DEBT_WITH_POINTS = "debt_with_points"
    LIFETIME_EARNED = "lifetime_earned"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    LOT_BOUNDS = "lot_bounds"
    LOT_MOVEMENTS = "lot_movements"
    LOT_STATE = "lot_state"
    ENTRY_MOVEMENTS = "entry_movements"
    ENTRY_IN_FUTURE = "entry_in_future"


@dataclass(frozen=True, slots=True)
class Breach:
    check: StrEnum  # a :class:`Check`, or another domain's (``patron.wallet.verify``)
    member_id: int
    subject: str  # "account 3", "lot 17", "entry 42"
    expected: int
    actual: int


def _total(expression: Any) -> Any:
    return func.coalesce(func.sum(expression), 0)


def _when(condition: Any, value: Any) -> Any:
    return case((condition, value), else_=0)


def _sums_of_entries() -> Any:
    earned_kinds = [EntryKind.EARN, EntryKind.BONUS, EntryKind.REVERSE]
    is_positive_adjust = and_(entries.c.kind == EntryKind.ADJUST, entries.c.amount > 0)
    return (
        select(
            entries.c.account_id,
            _total(entries.c.amount).label("total"),
            _total(entries.c.debt_change).label("debt_change"),
            _total(
                _when(entries.c.kind.in_(earned_kinds), entries.c.amount)
                + _when(is_positive_adjust, entries.c.amount)
            ).label("earned"),
            _total(_when(entries.c.kind == EntryKind.REDEEM, -entries.c.amount)).label("redeemed"),
            _total(_when(entries.c.kind == EntryKind.EXPIRE, -entries.c.amount)).label("expired"),
        )
        .group_by(entries.c.account_id)
        .subquery()
    )


def _sums_of_lots() -> Any:
    is_open = and_(lots.c.is_active, ~lots.c.is_expired)
    return (
        select(
            lots.c.account_id,
            _total(lots.c.remaining).label("remaining"),
            _total(_when(is_open, lots.c.remaining)).label("active"),
            _total(_when(~lots.c.is_active, lots.c.remaining)).label("pending"),
            _total(_when(and_(is_open, lots.c.remaining > 0), 1)).label("open_lots"),
        )
        .group_by(lots.c.account_id)
        .subquery()
    )


def _account_figures() -> Any:
    by_entries, by_lots = _sums_of_entries(), _sums_of_lots()
    repaid = (
        select(movements.c.member_id, _total(movements.c.amount).label("amount"))
        .where(movements.c.entry_id.is_(None))
        .group_by(movements.c.member_id)
        .subquery()
    )
    zero = func.coalesce
    return (
        select(
            accounts,
            zero(by_entries.c.total, 0).label("entries_total"),
            zero(by_entries.c.debt_change, 0).label("entries_debt"),
            zero(by_entries.c.earned, 0).label("entries_earned"),
            zero(by_entries.c.redeemed, 0).label("entries_redeemed"),
            zero(by_entries.c.expired, 0).label("entries_expired"),
            zero(by_lots.c.remaining, 0).label("lots_remaining"),
            zero(by_lots.c.active, 0).label("lots_active"),
            zero(by_lots.c.pending, 0).label("lots_pending"),
            zero(by_lots.c.open_lots, 0).label("open_lots"),
            zero(repaid.c.amount, 0).label("repaid_on_activation"),
        )
        .outerjoin(by_entries, by_entries.c.account_id == accounts.c.id)
        .outerjoin(by_lots, by_lots.c.account_id == accounts.c.id)
        .outerjoin(repaid, repaid.c.member_id == accounts.c.member_id)
        .order_by(accounts.c.id)
    )


def _account_breaches(row: Row[Any]) -> list[Breach]:
    figures = row._mapping
    pairs = [
        (Check.ENTRIES_TOTAL, figures["entries_total"], row.available + row.pending),
        (Check.LOTS_TOTAL, figures["entries_total"], figures["lots_remaining"] - row.debt),
        (Check.AVAILABLE, figures["lots_active"] - row.debt, row.available),
        (Check.PENDING, figures["lots_pending"], row.pending),
        (Check.DEBT, figures["entries_debt"] + figures["repaid_on_activation"], row.debt),
        (Check.DEBT_WITH_POINTS, 0, figures["open_lots"] if row.debt > 0 else 0),
        (Check.LIFETIME_EARNED, figures["entries_earned"], row.lifetime_earned),
        (Check.REDEEMED, figures["entries_redeemed"], row.redeemed),
        (Check.EXPIRED, figures["entries_expired"], row.expired),
    ]
    subject = f"account {row.id}"
    return [
        Breach(check, row.member_id, subject, int(expected), int(actual))
        for check, expected, actual in pairs
        if expected != actual
    ]


async def _lot_breaches(session: AsyncSession) -> list[Breach]:
    moved = (
        select(movements.c.lot_id, func.sum(movements.c.amount).label("amount"))
        .group_by(movements.c.lot_id)
        .subquery()
    )
    expected = lots.c.amount + func.coalesce(moved.c.amount, 0)
    statement = (
        select(lots.c.id, lots.c.member_id, lots.c.amount, lots.c.remaining, expected.label("e"))
        .add_columns(lots.c.is_active, lots.c.is_expired)
        .outerjoin(moved, moved.c.lot_id == lots.c.id)
        .where(
            or_(
                lots.c.remaining < 0,
                lots.c.remaining > lots.c.amount,
                lots.c.remaining != expected,
                and_(lots.c.is_expired, or_(lots.c.remaining != 0, ~lots.c.is_active)),
            )
        )
        .order_by(lots.c.id)
    )
    found: list[Breach] = []
    for row in await session.execute(statement):
        subject = f"lot {row.id}"
        if not 0 <= row.remaining <= row.amount:
            found.append(
                Breach(Check.LOT_BOUNDS, row.member_id, subject, row.amount, row.remaining)
            )
        if row.remaining != row.e:
            found.append(Breach(Check.LOT_MOVEMENTS, row.member_id, subject, row.e, row.remaining))
        if row.is_expired and (row.remaining != 0 or not row.is_active):
            found.append(Breach(Check.LOT_STATE, row.member_id, subject, 0, row.remaining))
    return found


async def _entry_breaches(session: AsyncSession, now: datetime) -> list[Breach]:
    moved = (
        select(movements.c.entry_id, func.sum(movements.c.amount).label("amount"))
        .where(movements.c.entry_id.is_not(None))
        .group_by(movements.c.entry_id)
        .subquery()
    )
    expected = (
        func.coalesce(lots.c.amount, 0) + func.coalesce(moved.c.amount, 0) - entries.c.debt_change
    )
    statement = (
        select(entries.c.id, entries.c.member_id, entries.c.amount, entries.c.created_at)
        .add_columns(expected.label("e"))
        .outerjoin(lots, lots.c.entry_id == entries.c.id)
        .outerjoin(moved, moved.c.entry_id == entries.c.id)
        .where(or_(entries.c.amount != expected, entries.c.created_at > now))
        .order_by(entries.c.id)
    )
    found: list[Breach] = []
    for row in await session.execute(statement):
        subject = f"entry {row.id}"
        if row.amount != row.e:
            found.append(Breach(Check.ENTRY_MOVEMENTS, row.member_id, subject, row.e, row.amount))
        if row.created_at > now:
            found.append(Breach(Check.ENTRY_IN_FUTURE, row.member_id, subject, 0, 1))
    return found


async def verify(session: AsyncSession, *, now: datetime) -> list[Breach]:
    """Every breach of the ledger's invariants over every account (empty: all is well)."""
    found: list[Breach] = []
    for row in await session.execute(_account_figures()):
        found.extend(_account_breaches(row))
    found.extend(await _lot_breaches(session))
    found.extend(await _entry_breaches(session, now))
    return found
