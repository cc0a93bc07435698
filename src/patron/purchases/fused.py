"""PostgreSQL: a member's purchase and its earning written in one statement.

The common purchase (a member, points to credit, no debt to repay) writes five things: the
purchase (its ``earn_entry_id`` included), its lines, the earn entry, the lot and the account's
counters. Written one statement at a time that is five round trips, each costing the server
process driver CPU and the database a backend wake-up; here they are one data-modifying
``WITH`` statement. Its rows are exactly those of the step-by-step path
(:meth:`PurchaseRepository.insert` then :func:`patron.ledger.credit.credit` and
``set_earn_entry``), in the same order of ids: the purchase and entry ids are drawn from their
sequences first, so that the purchase row can name its entry, which the entry's
``purchase:<id>`` key names in turn.

The statement's parts depend on each other through their ``RETURNING`` rows: when the
program already has a purchase with the ``external_id`` nothing at all is written (the caller
then answers the retry); when the entry's key is already taken (only a caller outside the
purchase path can have used ``purchase:<id>``) the purchase and its lines are written, the
counters only have their ``updated_at`` touched and no lot is made, as the step-by-step path
leaves them; the caller then links the purchase to the entry found under the key.

The caller holds the account's row lock (``lock_member_for_purchase``) and has checked the
account has no debt (a credit to an account in debt first catches its lots up: the
step-by-step path). SQLite keeps the step-by-step path: its statements are in-process calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.metrics import LEDGER_ENTRIES
from patron.kit.outbox import DomainEvent
from patron.kit.raw import Sql, json_text, raw_of
from patron.ledger.credit import credit_delta, lot_values
from patron.ledger.events import LedgerCredited
from patron.ledger.kinds import CREDIT_KINDS
from patron.ledger.repository import LockedAccount
from patron.ledger.writes import Change
from patron.purchases import events as purchase_events
from patron.purchases.breakdown import pack
from patron.purchases.events import PurchaseRecorded
from patron.purchases.repository import LINE_COLUMNS, PURCHASE_COLUMNS

_PURCHASE_CASTS = {
    "program_id": "bigint",
    "external_id": "text",
    "member_id": "bigint",
    "occurred_at": "timestamptz",
    "currency": "text",
    "total": "bigint",
    "shipping": "bigint",
    "channel": "text",
    "store": "text",
    "program_version": "integer",
    "points_earned": "bigint",
    "points_reversed": "bigint",
    "refunded": "bigint",
    "pending_until": "timestamptz",
    "expires_at": "timestamptz",
    "request_hash": "text",
    "created_at": "timestamptz",
}
_LINE_CASTS = {
    "line_no": "integer",
    "sku": "text",
    "category": "text",
    "quantity": "integer",
    "unit_price": "bigint",
    "amount": "bigint",
    "discount": "bigint",
    "order_discount": "bigint",
}
_ENTRY_CASTS = {
    "account_id": "bigint",
    "member_id": "bigint",
    "kind": "text",
    "amount": "bigint",
    "requested_amount": "bigint",
    "debt_change": "bigint",
    "source_type": "text",
    "occurred_at": "timestamptz",
    "created_at": "timestamptz",
    "description": "text",
    "meta": "jsonb",
}
_LOT_CASTS = {
    "account_id": "bigint",
    "member_id": "bigint",
    "amount": "bigint",
    "remaining": "bigint",
    "pending_until": "timestamptz",
    "expires_at": "timestamptz",
    "is_active": "boolean",
    "is_expired": "boolean",
    "created_at": "timestamptz",
}
assert tuple(_LINE_CASTS) == LINE_COLUMNS
_COUNTERS = ("available", "pending", "lifetime_earned", "redeemed", "expired", "debt")
_KEY_PREFIX = "purchase:"


def _numbered(casts: dict[str, str], first: int) -> list[str]:
    return [f"${first + n}::{cast}" for n, cast in enumerate(casts.values())]


def _statement(*, events: bool) -> Sql:
    purchase = _numbered(_PURCHASE_CASTS, 1)  # $1-$17
    breakdown, lines = len(purchase) + 1, len(purchase) + 2  # $18, $19-$26
    line_arrays = ", ".join(
        f"${lines + n}::{cast}[]" for n, cast in enumerate(_LINE_CASTS.values())
    )
    entry_first = lines + len(_LINE_CASTS)
    entry = dict(zip(_ENTRY_CASTS, _numbered(_ENTRY_CASTS, entry_first), strict=True))
    lot_first = entry_first + len(_ENTRY_CASTS)
    lot = dict(zip(_LOT_CASTS, _numbered(_LOT_CASTS, lot_first), strict=True))
    counter_first = lot_first + len(_LOT_CASTS)
    counters = ", ".join(
        f"{name} = {name} + ${counter_first + n}::bigint * n.written"
        for n, name in enumerate(_COUNTERS)
    )
    updated_at, account_id = counter_first + len(_COUNTERS), entry["account_id"]
    key_prefix = updated_at + 1
    recorded_payload, credited_payload = key_prefix + 1, key_prefix + 2
    # the events (purchases.recorded with p, ledger.credited with e): written by the same
    # statement, so they commit and roll back with the rows (nothing when p or e is empty)
    outbox = (
        "ev AS (INSERT INTO outbox_events (type, version, program_id, member_id, occurred_at, "
        f"payload) SELECT '{PurchaseRecorded.type}', {PurchaseRecorded.version}, $1::bigint, "
        f"$3::bigint, ${updated_at}::timestamptz, ${recorded_payload}::jsonb || "
        "jsonb_build_object('purchase_id', p.id) FROM p UNION ALL "
        f"SELECT '{LedgerCredited.type}', {LedgerCredited.version}, $1::bigint, $3::bigint, "
        f"${updated_at}::timestamptz, ${credited_payload}::jsonb || "
        "jsonb_build_object('entry_id', e.id) FROM e)"
        if events
        else ""
    )
    entry_columns = ", ".join(name for name in _ENTRY_CASTS if name not in ("meta",))
    line_columns = ", ".join(_LINE_CASTS)
    unnested = ", ".join(f"u.{name}" for name in _LINE_CASTS)
    return Sql(
        "WITH ids AS (SELECT nextval('purchases_id_seq') AS purchase_id, "
        "nextval('ledger_entries_id_seq') AS entry_id), "
        f"p AS (INSERT INTO purchases (id, earn_entry_id, {', '.join(PURCHASE_COLUMNS)}, "
        f"breakdown) SELECT ids.purchase_id, ids.entry_id, {', '.join(purchase)}, "
        f"${breakdown}::jsonb FROM ids "
        "ON CONFLICT (program_id, external_id) DO NOTHING RETURNING id, earn_entry_id), "
        f"l AS (INSERT INTO purchase_lines (purchase_id, member_id, {line_columns}, "
        f"returned_quantity) SELECT p.id, $3::bigint, {unnested}, 0 FROM p, "
        f"unnest({line_arrays}) AS u({line_columns})), "
        f"e AS (INSERT INTO ledger_entries (id, {entry_columns}, lot_id, source_id, "
        "idempotency_key, meta) SELECT p.earn_entry_id, "
        + ", ".join(cast for name, cast in entry.items() if name != "meta")
        + f", NULL, p.id::text, ${key_prefix}::text || p.id, {entry['meta']} FROM p "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id), "
        f"c AS (UPDATE accounts SET {counters}, updated_at = ${updated_at}::timestamptz "
        "FROM (SELECT count(*) AS written FROM e) AS n "
        f"WHERE accounts.id = {account_id} AND EXISTS (SELECT 1 FROM p)), "
        f"lo AS (INSERT INTO lots ({', '.join(_LOT_CASTS)}, entry_id) "
        f"SELECT {', '.join(lot.values())}, e.id FROM e)"
        + (f", {outbox} " if outbox else " ")
        + "SELECT p.id, EXISTS (SELECT 1 FROM e) FROM p"
    )


_RECORD_WITH_EARNING = _statement(events=True)
_RECORD_WITHOUT_EVENTS = _statement(events=False)  # bench/events.py's baseline only


async def insert_purchase_with_earning(
    session: AsyncSession,
    *,
    values: dict[str, Any],
    breakdown: list[dict[str, Any]],
    lines: Sequence[tuple[Any, ...]],
    account: LockedAccount,
    change: Change,
    occurred_at: datetime,
    pending_until: datetime | None,
    expires_at: datetime | None,
    now: datetime,
) -> tuple[int, bool] | None:
    """Write the purchase (``values`` keyed by :data:`PURCHASE_COLUMNS`), its ``lines`` (tuples
    in ``LINE_COLUMNS`` order) and the credit ``change`` to the locked, debt-free ``account``
    (its key and source id are the purchase's, set by the statement). Returns the purchase id
    and whether the entry was written (``False``: its key was taken), or ``None``, writing
    nothing, when the ``external_id`` is taken. The checks of the credit run first, as
    :func:`patron.ledger.credit.credit` runs them."""
    change.check(CREDIT_KINDS)
    delta = credit_delta(change, now, pending_until, expires_at)
    entry = change.entry_values(account, amount=change.amount, requested=change.amount, now=now)
    entry.update(occurred_at=occurred_at, meta=json_text(entry["meta"]))
    lot = lot_values(account, change.amount, 0, now, pending_until, expires_at)
    columns = list(zip(*lines, strict=True)) if lines else [()] * len(_LINE_CASTS)
    parameters = [
        *[values[name] for name in PURCHASE_COLUMNS],
        json_text(pack(breakdown)),
        *[list(column) for column in columns],
        *[entry[name] for name in _ENTRY_CASTS],
        *[lot[name] for name in _LOT_CASTS],
        *[getattr(delta, name) for name in _COUNTERS],
        now,
        _KEY_PREFIX,
    ]
    statement = _RECORD_WITHOUT_EVENTS
    if purchase_events.EMIT:  # the ids in the payloads are the statement's (0 here)
        statement = _RECORD_WITH_EARNING
        parameters.append(_payload(purchase_events.recorded(0, values)))
        parameters.append(_payload(purchase_events.earned(account.member_id, 0, change.amount)))
    row = await (await raw_of(session)).one(statement, *parameters)
    if row is None:
        return None
    if row[1]:
        LEDGER_ENTRIES.inc()
    return int(row[0]), bool(row[1])


def _payload(event: DomainEvent) -> str:
    return event.model_dump_json()


def earning_key(purchase_id: int) -> str:
    """The idempotency key of a purchase's earn entry (the statement builds the same)."""
    return f"{_KEY_PREFIX}{purchase_id}"
