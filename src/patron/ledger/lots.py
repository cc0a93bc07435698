"""The pure arithmetic of lots: burn order, catching up with time, debit plans, balances.

No I/O and no clock: every function takes ``now`` and plain frozen dataclasses, so the service
(which loads lots under the account's row lock) and the tests share one definition.

Definitions (the ledger's contract; :mod:`patron.ledger.verify` checks every one of them):

- A **lot** is *pending* while ``is_active`` is false, *active* after, and *expired* once the
  expiry job (or a write that catches up) wrote its remaining points off. A pending lot is
  **due to activate** at ``now`` when ``pending_until <= now``; a lot with points left is **due
  to expire** when ``expires_at <= now``. ``expires_at`` None means never.
- **debt** (>= 0) is what a debit with the ``debt`` policy could not take from lots. While
  debt is positive no active lot has points left: a lot that becomes active repays debt first
  (an active credit at once, a pending lot when it activates, oldest ``pending_until`` first).
- **available** = Σ remaining of active, unexpired lots − debt (negative only through debt);
  **pending** = Σ remaining of pending lots. So available + pending = Σ remaining − debt
  = Σ ledger entries.
- **lifetime_earned** = Σ earn + Σ bonus + Σ reverse (returns are negative and lower it)
  + Σ positive adjust; **redeemed** = −Σ redeem (a refund is a positive redeem entry and lowers
  it); **expired** = −Σ expire. Transfers and negative adjustments change only available.
- The **burn order** of a debit: active lots that expire soonest first, then the oldest
  (``created_at``, then ``id``), then lots that never expire (oldest first). A lot due to expire
  at ``now`` is not spendable; a pending lot due to activate at ``now`` is (it activates first).
- **As of now**: a balance counts due activations and due expiries whether or not the daily
  jobs have run (:func:`balance_as_of`). Activating every due lot in ``pending_until`` order and
  then expiring every due lot gives the same result as replaying them in time order, because
  expiry never touches debt and, while there is debt, no active lot has points to expire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from patron.ledger.kinds import EntryKind

_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LotState:
    id: int
    remaining: int
    created_at: datetime
    pending_until: datetime | None = None
    expires_at: datetime | None = None
    is_active: bool = True
    is_expired: bool = False


@dataclass(frozen=True, slots=True)
class Counters:
    """The cached balance of an account (or the same figures as of a moment)."""

    available: int = 0
    pending: int = 0
    lifetime_earned: int = 0
    redeemed: int = 0
    expired: int = 0
    debt: int = 0


@dataclass(frozen=True, slots=True)
class Activation:
    lot_id: int
    amount: int  # points that moved from pending to available
    repaid: int  # of which went to repay debt


@dataclass(frozen=True, slots=True)
class Expiration:
    lot_id: int
    amount: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What time alone did to an account's lots by ``now``."""

    activations: tuple[Activation, ...]
    expirations: tuple[Expiration, ...]
    lots: tuple[LotState, ...]  # every lot given, in its state after catching up
    debt: int  # debt after the activations repaid what they could

    @property
    def activated(self) -> int:
        return sum(activation.amount for activation in self.activations)

    @property
    def repaid(self) -> int:
        return sum(activation.repaid for activation in self.activations)

    @property
    def expired(self) -> int:
        return sum(expiration.amount for expiration in self.expirations)


@dataclass(frozen=True, slots=True)
class Take:
    lot_id: int
    amount: int
    is_pending: bool  # taken from a lot that is still pending (a reversal of that earning)


@dataclass(frozen=True, slots=True)
class DebitPlan:
    takes: tuple[Take, ...]
    shortfall: int  # what the lots could not cover

    @property
    def taken(self) -> int:
        return sum(take.amount for take in self.takes)

    @property
    def taken_from_pending(self) -> int:
        return sum(take.amount for take in self.takes if take.is_pending)


def burn_key(lot: LotState) -> tuple[int, datetime, datetime, int]:
    """Sort key of the burn order: soonest expiry, then oldest, then never-expiring lots."""
    if lot.expires_at is None:
        return (1, _NEVER, lot.created_at, lot.id)
    return (0, lot.expires_at, lot.created_at, lot.id)


def is_due_to_activate(lot: LotState, now: datetime) -> bool:
    return (
        not lot.is_active
        and not lot.is_expired
        and lot.pending_until is not None
        and lot.pending_until <= now
    )


def is_due_to_expire(lot: LotState, now: datetime) -> bool:
    return (
        not lot.is_expired
        and lot.remaining > 0
        and lot.expires_at is not None
        and lot.expires_at <= now
    )


def is_spendable(lot: LotState, now: datetime) -> bool:
    """Active, with points left and not due to expire (call after :func:`catch_up`)."""
    return (
        lot.is_active
        and not lot.is_expired
        and lot.remaining > 0
        and not is_due_to_expire(lot, now)
    )


def catch_up(lots: Iterable[LotState], *, debt: int, now: datetime, expire: bool = True) -> CatchUp:
    """Activate every lot due at ``now`` (repaying debt), then expire every lot due.

    Activations run in ``pending_until`` order (then ``created_at``, ``id``), so the lot that
    became available first repays debt first; expiries are listed in ``expires_at`` order.
    With ``expire=False`` only the activations happen (the activation job).
    """
    states = {lot.id: lot for lot in lots}
    due = sorted(
        (lot for lot in states.values() if is_due_to_activate(lot, now)),
        key=lambda lot: (lot.pending_until, lot.created_at, lot.id),
    )
    activations: list[Activation] = []
    for lot in due:
        repaid = min(debt, lot.remaining)
        debt -= repaid
        activations.append(Activation(lot.id, lot.remaining, repaid))
        states[lot.id] = replace(lot, is_active=True, remaining=lot.remaining - repaid)
    expirations: list[Expiration] = []
    if expire:
        dying = sorted(
            (lot for lot in states.values() if lot.is_active and is_due_to_expire(lot, now)),
            key=lambda lot: (lot.expires_at, lot.id),
        )
        for lot in dying:
            assert lot.expires_at is not None
            expirations.append(Expiration(lot.id, lot.remaining, lot.expires_at))
            states[lot.id] = replace(lot, remaining=0, is_expired=True)
    return CatchUp(tuple(activations), tuple(expirations), tuple(states.values()), debt)


def plan_debit(
    lots: Sequence[LotState], *, amount: int, now: datetime, first_lot_id: int | None = None
) -> DebitPlan:
    """Which lots a debit of ``amount`` consumes, in burn order, and the shortfall.

    ``lots`` must already be caught up to ``now`` (see :func:`plan_spend`). ``first_lot_id``
    (a reversal) is consumed before the burn order, even while still pending, unless it is
    expired or due to expire.
    """
    if amount <= 0:
        raise ValueError("a debit amount must be positive")
    order: list[LotState] = []
    order.extend(
        lot
        for lot in lots
        if lot.id == first_lot_id
        and lot.remaining > 0
        and not lot.is_expired
        and not is_due_to_expire(lot, now)
    )
    order.extend(
        sorted(
            (lot for lot in lots if lot.id != first_lot_id and is_spendable(lot, now)),
            key=burn_key,
        )
    )
    takes: list[Take] = []
    left = amount
    for lot in order:
        if left == 0:
            break
        take = min(left, lot.remaining)
        takes.append(Take(lot.id, take, is_pending=not lot.is_active))
        left -= take
    return DebitPlan(tuple(takes), left)


def plan_spend(
    lots: Sequence[LotState],
    *,
    debt: int,
    amount: int,
    now: datetime,
    first_lot_id: int | None = None,
) -> tuple[CatchUp, DebitPlan]:
    """Catch the lots up to ``now``, then plan the debit over the result."""
    caught_up = catch_up(lots, debt=debt, now=now)
    return caught_up, plan_debit(caught_up.lots, amount=amount, now=now, first_lot_id=first_lot_id)


def counter_deltas(kind: EntryKind, amount: int) -> tuple[int, int, int]:
    """How an entry of ``kind`` and signed ``amount`` moves (lifetime_earned, redeemed, expired)."""
    if kind in (EntryKind.EARN, EntryKind.BONUS, EntryKind.REVERSE):
        return amount, 0, 0
    if kind is EntryKind.ADJUST:
        return max(amount, 0), 0, 0
    if kind is EntryKind.REDEEM:
        return 0, -amount, 0
    if kind is EntryKind.EXPIRE:
        return 0, 0, -amount
    return 0, 0, 0


def balance_as_of(cache: Counters, due_lots: Iterable[LotState], now: datetime) -> Counters:
    """The cached counters moved to ``now``: due lots activate (repaying debt), then expire.

    ``due_lots`` must hold every lot of the account that is due at ``now`` (others are
    ignored). Activating a lot of ``x`` points that repays ``r`` of debt raises available by
    ``x`` (active +x−r, debt −r); expiring ``y`` points lowers available and raises expired.
    """
    caught_up = catch_up(due_lots, debt=cache.debt, now=now)
    return replace(
        cache,
        available=cache.available + caught_up.activated - caught_up.expired,
        pending=cache.pending - caught_up.activated,
        expired=cache.expired + caught_up.expired,
        debt=caught_up.debt,
    )
