"""Every query of the ledger but the daily jobs' (:mod:`patron.ledger.due`), and the account
lock.

Statements are built once at import and executed with parameters (Core, not ORM objects). The
three statements of a credit (counters + lock, entry, lot), the hot path of every purchase, go
straight to the driver (:mod:`patron.kit.raw`), which flushes pending ORM objects first (such
as the member row an account refers to).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.metrics import LEDGER_ENTRIES
from patron.kit.raw import Sql, json_text, raw_of, read_time
from patron.ledger.errors import AccountNotFoundError, LotNotFoundError
from patron.ledger.kinds import EntryKind
from patron.ledger.lots import Counters, LotState
from patron.ledger.models import accounts, entries, lots, movements
from patron.ledger.schemas import Entry
from patron.members.models import Member


@dataclass(frozen=True, slots=True)
class LockedAccount:
    id: int
    member_id: int
    debt: int
    lifetime_earned: int = 0  # as locked; filled by lock_account_for_update only


@dataclass(frozen=True, slots=True)
class LotOrigin:
    """The lot an earning created, as a reversal needs it."""

    id: int
    member_id: int
    amount: int


# Atomic ``x = x + $n`` for every cached counter; the two statements differ in their key.
_COUNTER_NAMES = ("available", "pending", "lifetime_earned", "redeemed", "expired", "debt")
_ADD_TO_COUNTERS = "UPDATE accounts SET " + ", ".join(
    f"{name} = {name} + ${n}" for n, name in enumerate(_COUNTER_NAMES, start=1)
)
_RAW_CHANGE_MEMBER_COUNTERS = Sql(
    _ADD_TO_COUNTERS + ", updated_at = $7 WHERE member_id = $8 RETURNING id, member_id, debt"
)
_RAW_CHANGE_COUNTERS = Sql(_ADD_TO_COUNTERS + ", updated_at = $7 WHERE id = $8")
_RAW_ENTRY_COLUMNS = (
    "account_id",
    "member_id",
    "kind",
    "amount",
    "requested_amount",
    "debt_change",
    "lot_id",
    "source_type",
    "source_id",
    "idempotency_key",
    "occurred_at",
    "created_at",
    "description",
)
_RAW_INSERT_ENTRY = Sql(
    f"INSERT INTO ledger_entries ({', '.join(_RAW_ENTRY_COLUMNS)}, meta) VALUES ("
    + ", ".join(f"${n}" for n in range(1, len(_RAW_ENTRY_COLUMNS) + 2))
    + ") ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
_RAW_INSERT_ENTRIES = Sql(  # keys that cannot collide (:meth:`LedgerRepository.insert_entries`)
    f"INSERT INTO ledger_entries ({', '.join(_RAW_ENTRY_COLUMNS)}, meta) VALUES ("
    + ", ".join(f"${n}" for n in range(1, len(_RAW_ENTRY_COLUMNS) + 2))
    + ")"
)
_RAW_LOT_COLUMNS = (
    "account_id",
    "member_id",
    "entry_id",
    "amount",
    "remaining",
    "pending_until",
    "expires_at",
    "is_active",
    "is_expired",
    "created_at",
)
_RAW_INSERT_LOT = Sql(
    f"INSERT INTO lots ({', '.join(_RAW_LOT_COLUMNS)}) VALUES ("
    + ", ".join(f"${n}" for n in range(1, len(_RAW_LOT_COLUMNS) + 1))
    + ") RETURNING id"
)
_RAW_INSERT_LOTS = Sql(
    f"INSERT INTO lots ({', '.join(_RAW_LOT_COLUMNS)}) VALUES ("
    + ", ".join(f"${n}" for n in range(1, len(_RAW_LOT_COLUMNS) + 1))
    + ")"
)
_ENTRY_COLUMNS = [column for column in entries.c if column.name != "account_id"]
_FIND_ENTRY = select(*_ENTRY_COLUMNS).where(entries.c.idempotency_key == bindparam("key"))
_EXPIRE = (
    update(lots)
    .where(lots.c.id.in_(bindparam("ids", expanding=True)))
    .values(is_expired=True, remaining=0)
)
_RAW_LOCK = Sql(
    "SELECT id, member_id, debt, lifetime_earned FROM accounts WHERE member_id = $1",
    postgresql_suffix=" FOR UPDATE",
)
_RAW_COUNTERS = Sql(
    "SELECT id, available, pending, lifetime_earned, redeemed, expired, debt FROM accounts "
    "WHERE member_id = $1"
)
# Lots with points left and not expired, in :class:`LotState`'s column order.
_RAW_LOT_SELECT = (
    "SELECT id, remaining, created_at, pending_until, expires_at, is_active, is_expired "
    "FROM lots WHERE account_id = $1 AND remaining > 0 AND NOT is_expired AND "
)
# Active or due to activate at $2, or the lot $3.
_RAW_OPEN_LOTS = Sql(_RAW_LOT_SELECT + "(is_active OR pending_until <= $2 OR id = $3)")
# Due to activate or to expire at $2.
_RAW_DUE_LOTS = Sql(
    _RAW_LOT_SELECT + "((NOT is_active AND pending_until <= $2) OR expires_at <= $2)"
)
# The counters (as _RAW_COUNTERS) and the lots due at $2 (as _RAW_DUE_LOTS, NULLs when
# none): a balance in one statement
_RAW_BALANCE = Sql(
    "SELECT a.id, a.available, a.pending, a.lifetime_earned, a.redeemed, a.expired, a.debt, "
    "l.id, l.remaining, l.created_at, l.pending_until, l.expires_at, l.is_active, "
    "l.is_expired FROM accounts a LEFT JOIN lots l ON l.account_id = a.id "
    "AND l.remaining > 0 AND NOT l.is_expired "
    "AND ((NOT l.is_active AND l.pending_until <= $2) OR l.expires_at <= $2) "
    "WHERE a.member_id = $1"
)
_RAW_MOVEMENT_COLUMNS = ("member_id", "lot_id", "entry_id", "reason", "amount", "created_at")
_RAW_INSERT_MOVEMENT = Sql(
    f"INSERT INTO {movements.name} ({', '.join(_RAW_MOVEMENT_COLUMNS)}) "
    "VALUES ($1, $2, $3, $4, $5, $6)"
)
_RAW_ACTIVATE = Sql(
    "UPDATE lots SET is_active = TRUE, remaining = remaining - $1 WHERE id = $2 AND NOT is_active"
)
_RAW_TAKE = Sql("UPDATE lots SET remaining = remaining - $1 WHERE id = $2")
_RAW_INSERT_OPENED_ACCOUNT = Sql(
    "INSERT INTO accounts (member_id, "
    + ", ".join(_COUNTER_NAMES)
    + ", created_at, updated_at) VALUES ($1, $2, 0, 0, 0, 0, 0, $3, $3)"
)
_ACCOUNT_IDS_CHUNK = 500
_RAW_INSERT_ACCOUNT = Sql(
    "INSERT INTO accounts (member_id, "
    + ", ".join(_COUNTER_NAMES)
    + ", created_at, updated_at) VALUES ($1, 0, 0, 0, 0, 0, 0, $2, $2)"
    " ON CONFLICT (member_id) DO NOTHING"
)


def _raw_lot_state(row: tuple[Any, ...]) -> LotState:
    """A row of :data:`_RAW_LOT_SELECT` (SQLite gives times as text, booleans as 0/1)."""
    created_at = read_time(row[2])
    assert created_at is not None  # NOT NULL
    return LotState(
        row[0], row[1], created_at, read_time(row[3]), read_time(row[4]), bool(row[5]),
        bool(row[6]),
    )  # fmt: skip


async def lock_account_for_update(session: AsyncSession, member_id: int) -> LockedAccount:
    """Lock the member's account row until the unit of work ends; every points write calls it
    first.

    PostgreSQL: ``SELECT ... FOR UPDATE`` serialises writers of one account. SQLite: the write
    unit of work began with ``BEGIN IMMEDIATE`` and already holds the database's write lock.
    A unit of work that writes to several accounts (a transfer) should lock them all first in
    ascending account id order, as the daily jobs do
    (:meth:`patron.ledger.due.DueLotsRepository.lock_accounts`), so that no two writers
    deadlock.
    """
    row = await (await raw_of(session)).one(_RAW_LOCK, member_id)
    if row is None:
        raise AccountNotFoundError(member_id)
    return LockedAccount(row[0], row[1], row[2], row[3])


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_account(self, member_id: int, now: datetime) -> None:
        """Create the account unless the member has one (then do nothing)."""
        await (await raw_of(self.session)).run(_RAW_INSERT_ACCOUNT, member_id, now)

    async def insert_opened_accounts(
        self, available: Sequence[tuple[int, int]], now: datetime
    ) -> dict[int, int]:
        """New accounts of ``(member id, available points)``; ``member id -> account id``.
        A member that has an account already makes the insert fail."""
        if not available:
            return {}
        raw = await raw_of(self.session)
        await raw.many(_RAW_INSERT_OPENED_ACCOUNT, [(m, points, now) for m, points in available])
        found: dict[int, int] = {}
        member_ids = [member_id for member_id, _ in available]
        for start in range(0, len(member_ids), _ACCOUNT_IDS_CHUNK):
            chunk = member_ids[start : start + _ACCOUNT_IDS_CHUNK]
            marks = ", ".join(f"${n}" for n in range(1, len(chunk) + 1))
            sql = Sql(f"SELECT member_id, id FROM accounts WHERE member_id IN ({marks})")
            found.update((int(row[0]), int(row[1])) for row in await raw.all(sql, *chunk))
        return found

    async def insert_lots(self, rows: Sequence[dict[str, Any]]) -> None:
        """Lots (with their ``entry_id``) without reading their ids back."""
        if rows:
            parameters = [tuple(row[name] for name in _RAW_LOT_COLUMNS) for row in rows]
            await (await raw_of(self.session)).many(_RAW_INSERT_LOTS, parameters)

    async def source_total(self, member_id: int, source_type: str) -> tuple[int, int]:
        """The sum and the number of the member's entries from ``source_type``."""
        query = select(func.coalesce(func.sum(entries.c.amount), 0), func.count()).where(
            entries.c.member_id == member_id, entries.c.source_type == source_type
        )
        total, count = (await self.session.execute(query)).one()
        return int(total), int(count)

    async def counters(self, member_id: int) -> tuple[int, Counters]:
        row = await (await raw_of(self.session)).one(_RAW_COUNTERS, member_id)
        if row is None:
            raise AccountNotFoundError(member_id)
        return row[0], Counters(*row[1:])

    async def counters_and_due_lots(
        self, member_id: int, now: datetime
    ) -> tuple[Counters, list[LotState]]:
        """:meth:`counters` and :meth:`due_lots` at ``now`` of the member's account in one
        statement (a balance: the API's member views, every message that shows one)."""
        rows = await (await raw_of(self.session)).all(_RAW_BALANCE, member_id, now)
        if not rows:
            raise AccountNotFoundError(member_id)
        due = [_raw_lot_state(row[7:]) for row in rows if row[7] is not None]
        return Counters(*rows[0][1:7]), due

    async def change_counters(self, rows: Sequence[dict[str, Any]]) -> None:
        """Atomic ``x = x + :d`` updates; each row holds ``account_id``, ``now`` and ``d_*``."""
        if rows:
            parameters = [
                (*[row[f"d_{name}"] for name in _COUNTER_NAMES], row["now"], row["account_id"])
                for row in rows
            ]
            await (await raw_of(self.session)).many(_RAW_CHANGE_COUNTERS, parameters)

    async def lock_and_change_counters(
        self, member_id: int, delta: dict[str, Any]
    ) -> LockedAccount:
        """Move the member's counters by ``delta`` (``d_*`` and ``now``) in one atomic
        ``UPDATE``, which also takes the account's row lock; returns the account as it is now
        (its debt included)."""
        raw = await raw_of(self.session)
        deltas = [delta[f"d_{name}"] for name in _COUNTER_NAMES]
        row = await raw.one(_RAW_CHANGE_MEMBER_COUNTERS, *deltas, delta["now"], member_id)
        if row is None:
            raise AccountNotFoundError(member_id)
        return LockedAccount(row[0], row[1], row[2])

    async def find_entry(self, idempotency_key: str) -> Entry | None:
        row = (await self.session.execute(_FIND_ENTRY, {"key": idempotency_key})).first()
        return None if row is None else Entry.model_validate(row._mapping)

    async def insert_entry(self, values: dict[str, Any]) -> int | None:
        """Insert an entry; None when its idempotency key is already taken."""
        raw = await raw_of(self.session)
        parameters = [values[name] for name in _RAW_ENTRY_COLUMNS]
        row = await raw.one(_RAW_INSERT_ENTRY, *parameters, json_text(values["meta"]))
        if row is None:
            return None
        LEDGER_ENTRIES.inc()
        return int(row[0])

    async def insert_entries(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert entries whose keys cannot collide; their ids in the order of ``rows``.

        One ``executemany`` and the ids read back by key in chunks: SQLAlchemy's insert with
        ``RETURNING`` in parameter order runs row by row on SQLite (it cannot rely on the
        order of a multi-row ``RETURNING`` there), a third of a members import's database
        time."""
        if not rows:
            return []
        raw = await raw_of(self.session)
        await raw.many(
            _RAW_INSERT_ENTRIES,
            [(*(row[name] for name in _RAW_ENTRY_COLUMNS), json_text(row["meta"])) for row in rows],
        )
        keys = [str(row["idempotency_key"]) for row in rows]
        found: dict[str, int] = {}
        for start in range(0, len(keys), _ACCOUNT_IDS_CHUNK):
            chunk = keys[start : start + _ACCOUNT_IDS_CHUNK]
            marks = ", ".join(f"${n}" for n in range(1, len(chunk) + 1))
            sql = Sql(
                f"SELECT idempotency_key, id FROM ledger_entries WHERE idempotency_key IN ({marks})"
            )
            found.update((str(row[0]), int(row[1])) for row in await raw.all(sql, *chunk))
        LEDGER_ENTRIES.inc(len(rows))
        return [found[key] for key in keys]

    async def insert_lot(self, values: dict[str, Any]) -> int:
        raw = await raw_of(self.session)
        row = await raw.one(_RAW_INSERT_LOT, *[values[name] for name in _RAW_LOT_COLUMNS])
        assert row is not None  # RETURNING of an insert
        return int(row[0])

    async def insert_movements(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows as :func:`patron.ledger.writes.movement` makes them."""
        if rows:
            parameters = [tuple(row[name] for name in _RAW_MOVEMENT_COLUMNS) for row in rows]
            await (await raw_of(self.session)).many(_RAW_INSERT_MOVEMENT, parameters)

    async def open_lots(
        self, account_id: int, now: datetime, also_lot_id: int | None = None
    ) -> list[LotState]:
        """Lots with points left that are active or due to activate (plus ``also_lot_id``)."""
        raw = await raw_of(self.session)
        rows = await raw.all(_RAW_OPEN_LOTS, account_id, now, also_lot_id or 0)
        return [_raw_lot_state(row) for row in rows]

    async def due_lots(self, account_id: int, now: datetime) -> list[LotState]:
        """Lots with points left that are due to activate or to expire at ``now``."""
        rows = await (await raw_of(self.session)).all(_RAW_DUE_LOTS, account_id, now)
        return [_raw_lot_state(row) for row in rows]

    async def activate_lots(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows of ``lot_id`` and ``repaid`` (the debt the lot repays as it activates)."""
        if rows:
            parameters = [(row["repaid"], row["lot_id"]) for row in rows]
            await (await raw_of(self.session)).many(_RAW_ACTIVATE, parameters)

    async def take_from_lots(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows of ``lot_id`` and ``take``; the CHECK on ``remaining`` refuses going below 0."""
        if rows:
            parameters = [(row["take"], row["lot_id"]) for row in rows]
            await (await raw_of(self.session)).many(_RAW_TAKE, parameters)

    async def expire_lots(self, lot_ids: Sequence[int]) -> None:
        if lot_ids:
            await self.session.execute(_EXPIRE, {"ids": list(lot_ids)})

    async def lot_origin(self, *, lot_id: int | None, entry_id: int | None) -> LotOrigin:
        """The lot to reverse, named by its id or by the id of the entry that created it."""
        condition = lots.c.id == lot_id if lot_id is not None else lots.c.entry_id == entry_id
        statement = select(lots.c.id, lots.c.member_id, lots.c.amount).where(condition)
        row = (await self.session.execute(statement)).first()
        if row is None:
            raise LotNotFoundError(f"no lot for lot_id={lot_id} entry_id={entry_id}")
        return LotOrigin(row.id, row.member_id, row.amount)

    async def reversed_total(self, lot_id: int) -> int:
        """Points already reversed against a lot (a positive number)."""
        statement = select(func.coalesce(-func.sum(entries.c.amount), 0)).where(
            entries.c.lot_id == lot_id, entries.c.kind == EntryKind.REVERSE
        )
        total: int = (await self.session.execute(statement)).scalar_one()
        return int(total)

    async def entries_page(self, member_id: int, limit: int, before_id: int | None) -> list[Entry]:
        statement = select(*_ENTRY_COLUMNS).where(entries.c.member_id == member_id)
        if before_id is not None:
            statement = statement.where(entries.c.id < before_id)
        statement = statement.order_by(entries.c.id.desc()).limit(limit)
        result = await self.session.execute(statement)
        return [Entry.model_validate(row._mapping) for row in result]

    async def pending_total(self, program_id: int, now: datetime) -> int:
        """Σ remaining of the program's lots still pending at ``now`` (not due to activate)."""
        statement = (
            select(func.coalesce(func.sum(lots.c.remaining), 0))
            .select_from(lots)
            .join(accounts, accounts.c.id == lots.c.account_id)
            .join(Member, Member.id == accounts.c.member_id)
            .where(
                Member.program_id == program_id,
                ~lots.c.is_active,
                lots.c.remaining > 0,
                lots.c.pending_until > now,
            )
        )
        return int((await self.session.execute(statement)).scalar_one())
