"""What the write paths share: the request (:class:`Change`) and its checks, idempotency,
and turning plans of :mod:`patron.ledger.lots` into rows (counter deltas, catch-up writes).

Shared by the use cases (one account) and the daily jobs (a batch of accounts), so that a
debit's catch-up and the expiry job write exactly the same entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.ledger.expired import emit_expired
from patron.ledger.kinds import EntryKind, MovementReason
from patron.ledger.lots import CatchUp, counter_deltas
from patron.ledger.repository import LedgerRepository, LockedAccount
from patron.ledger.schemas import Entry

EXPIRY_SOURCE = "lot"


def expiry_key(lot_id: int) -> str:
    """The idempotency key of a lot's expiry: a lot expires once."""
    return f"ledger:expire:lot:{lot_id}"


@dataclass(frozen=True, slots=True)
class Change:
    """A change a caller asked for; the lots decide the entry's final (signed) amount."""

    member_id: int
    kind: EntryKind
    amount: int  # what was asked, > 0
    idempotency_key: str
    source_type: str
    source_id: str
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def check(self, allowed: frozenset[EntryKind]) -> None:
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidInputError(
                "amount must be a positive whole number of points", field="amount"
            )
        if self.kind not in allowed:
            names = ", ".join(sorted(allowed))
            raise InvalidInputError(
                f"kind must be one of {names}, not {self.kind}",
                field="kind",
                params={"kind": str(self.kind)},
            )
        for name, text, limit in (
            ("idempotency_key", self.idempotency_key, 160),
            ("source_type", self.source_type, 32),
            ("source_id", self.source_id, 64),
        ):
            if not 1 <= len(text) <= limit:
                raise InvalidInputError(
                    f"{name} must have 1 to {limit} characters",
                    field=name,
                    params={"least": 1, "most": limit},
                )
        if len(self.description) > 255:
            raise InvalidInputError(
                "description is longer than 255 characters", field="description"
            )

    def entry_values(
        self, account: LockedAccount, *, amount: int, requested: int, now: datetime
    ) -> dict[str, Any]:
        values = entry_values(
            account,
            kind=self.kind,
            amount=amount,
            source=(self.source_type, self.source_id),
            key=self.idempotency_key,
            now=now,
        )
        values.update(requested_amount=requested, description=self.description, meta=self.meta)
        return values

    def same_or_conflict(self, existing: Entry, *, requested: int) -> Entry:
        """The entry a repeated request gets back: same member, kind and requested amount.
        Anything else under the same key is a conflict."""
        if (existing.member_id, existing.kind, existing.requested_amount) == (
            self.member_id,
            self.kind,
            requested,
        ):
            return existing
        raise key_conflict(self.idempotency_key)


def key_conflict(key: str) -> IdempotencyConflictError:
    return IdempotencyConflictError(
        f"idempotency key {key!r} was already used for another change", field="idempotency_key"
    )


async def repeated(repo: LedgerRepository, change: Change, *, requested: int) -> Entry | None:
    """The entry written for this change's key before, if any (conflict if not the same)."""
    found = await repo.find_entry(change.idempotency_key)
    return None if found is None else change.same_or_conflict(found, requested=requested)


@dataclass(slots=True)
class CounterDelta:
    """Changes of one account's cached counters, applied as one atomic ``x = x + :d``."""

    available: int = 0
    pending: int = 0
    lifetime_earned: int = 0
    redeemed: int = 0
    expired: int = 0
    debt: int = 0

    def add_entry(self, kind: EntryKind, amount: int) -> None:
        """The lifetime/redeemed/expired part of an entry (available/pending are the caller's,
        since they depend on the lots it touched)."""
        lifetime_earned, redeemed, expired = counter_deltas(kind, amount)
        self.lifetime_earned += lifetime_earned
        self.redeemed += redeemed
        self.expired += expired

    def reversed(self) -> CounterDelta:
        return CounterDelta(
            -self.available,
            -self.pending,
            -self.lifetime_earned,
            -self.redeemed,
            -self.expired,
            -self.debt,
        )

    def row(self, account_id: int, now: datetime) -> dict[str, Any]:
        return {
            "account_id": account_id,
            "now": now,
            "d_available": self.available,
            "d_pending": self.pending,
            "d_lifetime_earned": self.lifetime_earned,
            "d_redeemed": self.redeemed,
            "d_expired": self.expired,
            "d_debt": self.debt,
        }


def entry_values(
    account: LockedAccount,
    *,
    kind: EntryKind,
    amount: int,
    source: tuple[str, str],
    key: str,
    now: datetime,
) -> dict[str, Any]:
    """A ledger entry row with defaults for the optional columns."""
    return {
        "account_id": account.id,
        "member_id": account.member_id,
        "kind": kind,
        "amount": amount,
        "requested_amount": amount,
        "debt_change": 0,
        "lot_id": None,
        "source_type": source[0],
        "source_id": source[1],
        "idempotency_key": key,
        "occurred_at": now,
        "created_at": now,
        "description": "",
        "meta": {},
    }


def movement(
    account: LockedAccount,
    lot_id: int,
    entry_id: int | None,
    reason: MovementReason,
    amount: int,
    now: datetime,
) -> dict[str, Any]:
    return {
        "member_id": account.member_id,
        "lot_id": lot_id,
        "entry_id": entry_id,
        "reason": reason,
        "amount": amount,
        "created_at": now,
    }


@dataclass(slots=True)
class CatchUpWrites:
    """Collects the writes of catching accounts up (activations, repayments, expiries) and
    flushes them in a few statements. Expire entries are dated at the lot's ``expires_at``."""

    now: datetime
    activations: list[dict[str, Any]] = field(default_factory=list)
    repayments: list[dict[str, Any]] = field(default_factory=list)
    expiry_entries: list[dict[str, Any]] = field(default_factory=list)
    expiry_movements: list[dict[str, Any]] = field(default_factory=list)
    expired_lot_ids: list[int] = field(default_factory=list)

    def add(self, account: LockedAccount, caught_up: CatchUp, delta: CounterDelta) -> None:
        now = self.now
        for activation in caught_up.activations:
            self.activations.append({"lot_id": activation.lot_id, "repaid": activation.repaid})
            if activation.repaid:
                self.repayments.append(
                    movement(
                        account,
                        activation.lot_id,
                        None,
                        MovementReason.REPAY,
                        -activation.repaid,
                        now,
                    )
                )
        delta.pending -= caught_up.activated
        delta.available += caught_up.activated
        delta.debt -= caught_up.repaid
        for expiration in caught_up.expirations:
            values = entry_values(
                account,
                kind=EntryKind.EXPIRE,
                amount=-expiration.amount,
                source=(EXPIRY_SOURCE, str(expiration.lot_id)),
                key=expiry_key(expiration.lot_id),
                now=now,
            )
            values.update(lot_id=expiration.lot_id, occurred_at=expiration.expires_at)
            self.expiry_entries.append(values)
            self.expiry_movements.append(
                movement(
                    account, expiration.lot_id, None, MovementReason.EXPIRE, -expiration.amount, now
                )
            )
            self.expired_lot_ids.append(expiration.lot_id)
            delta.add_entry(EntryKind.EXPIRE, -expiration.amount)
            delta.available -= expiration.amount

    async def flush(self, repo: LedgerRepository) -> None:
        """Activations before expiries: a lot may do both (repay debt, then expire the rest).
        What expired is announced (``points.expired``, :mod:`patron.ledger.expired`)."""
        await repo.activate_lots(self.activations)
        await repo.insert_movements(self.repayments)
        entry_ids = await repo.insert_entries(self.expiry_entries)
        await emit_expired(repo.session, self.expiry_entries, self.now)
        for row, entry_id in zip(self.expiry_movements, entry_ids, strict=True):
            row["entry_id"] = entry_id
        await repo.insert_movements(self.expiry_movements)
        await repo.expire_lots(self.expired_lot_ids)
