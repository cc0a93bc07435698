"""All queries of the purchases domain.

The statements of recording a purchase (:mod:`patron.purchases.earn`) go straight to the
driver (:mod:`patron.kit.raw`): it is the hot path of the whole system.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from patron.kit.raw import Sql, json_text, raw_of
from patron.ledger.repository import LockedAccount
from patron.members.models import Member, MemberStatus
from patron.members.schemas import MemberState
from patron.purchases.breakdown import pack
from patron.purchases.models import Purchase, PurchaseLine, PurchaseReturn

PURCHASE_COLUMNS = (
    "program_id",
    "external_id",
    "member_id",
    "occurred_at",
    "currency",
    "total",
    "shipping",
    "channel",
    "store",
    "program_version",
    "points_earned",
    "points_reversed",
    "refunded",
    "pending_until",
    "expires_at",
    "request_hash",
    "created_at",
)
LINE_COLUMNS = (
    "line_no",
    "sku",
    "category",
    "quantity",
    "unit_price",
    "amount",
    "discount",
    "order_discount",
)
_INSERT_PURCHASE = Sql(
    f"INSERT INTO purchases ({', '.join(PURCHASE_COLUMNS)}, breakdown) VALUES ("
    + ", ".join(f"${n}" for n in range(1, len(PURCHASE_COLUMNS) + 2))
    + ") ON CONFLICT (program_id, external_id) DO NOTHING RETURNING id"
)
_INSERT_LINES = Sql(
    f"INSERT INTO purchase_lines (purchase_id, member_id, {', '.join(LINE_COLUMNS)}, "
    "returned_quantity) VALUES ("
    + ", ".join(f"${n}" for n in range(1, len(LINE_COLUMNS) + 3))
    + ", 0)"
)
_SET_EARN_ENTRY = Sql("UPDATE purchases SET earn_entry_id = $1 WHERE id = $2")
_ADD_REFUND = Sql(
    "UPDATE purchases SET refunded = refunded + $1, points_reversed = points_reversed + $2 "
    "WHERE id = $3"
)
_ADD_RETURNED_QUANTITY = Sql(
    "UPDATE purchase_lines SET returned_quantity = returned_quantity + $1 "
    "WHERE purchase_id = $2 AND line_no = $3"
)
_LOCK_MEMBER = "SELECT m.id, m.status, m.tier_id, a.lifetime_earned, a.id, a.debt FROM members m "
_LOCK_MEMBER += "JOIN accounts a ON a.member_id = m.id WHERE m.program_id = $1 AND "
_LOCK_BY_ID = Sql(_LOCK_MEMBER + "m.id = $2", postgresql_suffix=" FOR UPDATE OF a")
_LOCK_BY_EXTERNAL_ID = Sql(
    _LOCK_MEMBER + "m.external_id = $2", postgresql_suffix=" FOR UPDATE OF a"
)
# PostgreSQL only: the accounts of many members, locked in the order of the ``ORDER BY`` (the
# rows are locked as the sort hands them over). "C": external ids in code point order.
_LOCK_MANY = "SELECT a.id FROM members m JOIN accounts a ON a.member_id = m.id "
_LOCK_MANY += "WHERE m.program_id = $1 AND "
_LOCK_BY_EXTERNAL_IDS = Sql(
    _LOCK_MANY + 'm.external_id = ANY($2::text[]) ORDER BY m.external_id COLLATE "C" '
    "FOR UPDATE OF a"
)
_LOCK_BY_IDS = Sql(_LOCK_MANY + "m.id = ANY($2::bigint[]) ORDER BY m.id FOR UPDATE OF a")
_LARGEST_ID = 2**63 - 1
_USAGE_QUERIES: dict[int, Sql] = {}


def _usage_query(pairs: int) -> Sql:
    """Usage rows of one member for ``pairs`` (rule id, period key) pairs."""
    query = _USAGE_QUERIES.get(pairs)
    if query is None:
        wanted = " OR ".join(
            f"(rule_id = ${2 * n} AND period_key = ${2 * n + 1})" for n in range(1, pairs + 1)
        )
        query = Sql(f"SELECT rule_id, count FROM rule_usages WHERE member_id = $1 AND ({wanted})")
        _USAGE_QUERIES[pairs] = query
    return query


_INCREMENT_USAGE = Sql(
    "INSERT INTO rule_usages (member_id, rule_id, period_key, count) VALUES ($1, $2, $3, 1) "
    "ON CONFLICT (member_id, rule_id, period_key) DO UPDATE SET count = rule_usages.count + 1"
)


async def lock_member_for_purchase(
    session: AsyncSession, program_id: int, member_id: int | None, external_id: str | None
) -> tuple[MemberState, LockedAccount] | None:
    """The member (by id, else by external id) with its account locked, and the account as
    locked (its ``lifetime_earned`` and debt): one statement (``FOR UPDATE OF`` the account on
    PostgreSQL; a SQLite write unit of work already holds the write lock). ``None`` when not
    found."""
    raw = await raw_of(session)
    if member_id is not None:
        row = await raw.one(_LOCK_BY_ID, program_id, member_id)
    else:
        row = await raw.one(_LOCK_BY_EXTERNAL_ID, program_id, external_id)
    if row is None:
        return None
    account = LockedAccount(row[4], row[0], row[5], row[3])
    return MemberState(row[0], MemberStatus(row[1]), row[2]), account


async def lock_members_in_order(
    session: AsyncSession,
    program_id: int,
    *,
    external_ids: Iterable[str],
    member_ids: Iterable[int],
) -> None:
    """Lock the accounts of the program's members named by external id, in code point order
    of the external ids, then of those named by id, in id order: the order of
    :func:`patron.purchases.buyer.lock_order` (two statements on PostgreSQL; nothing to do on
    SQLite, where the write unit of work holds the database's write lock). Names that find no
    member are skipped."""
    raw = await raw_of(session)
    if raw.is_sqlite:
        return
    external = list(set(external_ids))
    ids = [member_id for member_id in set(member_ids) if member_id <= _LARGEST_ID]
    if external:
        await raw.all(_LOCK_BY_EXTERNAL_IDS, program_id, external)
    if ids:
        await raw.all(_LOCK_BY_IDS, program_id, ids)


async def first_purchases(session: AsyncSession, program_id: int) -> list[tuple[int, datetime]]:
    """``(member id, moment of their first purchase)`` of the program's active members who
    bought (the anniversary campaigns' origin)."""
    rows = await session.execute(
        select(Purchase.member_id, func.min(Purchase.occurred_at))
        .join(Member, Member.id == Purchase.member_id)
        .where(
            Purchase.program_id == program_id,
            Member.status == MemberStatus.ACTIVE,
            Member.erased_at.is_(None),
        )
        .group_by(Purchase.member_id)
        .order_by(Purchase.member_id)
    )
    return [(int(member_id), first) for member_id, first in rows if member_id is not None]


class PurchaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_external_id(self, program_id: int, external_id: str) -> Purchase | None:
        query = select(Purchase).where(
            Purchase.program_id == program_id, Purchase.external_id == external_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def ids_by_external_id(
        self, program_id: int, external_ids: Sequence[str]
    ) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(external_ids), 500):
            query = select(Purchase.external_id, Purchase.id).where(
                Purchase.program_id == program_id,
                Purchase.external_id.in_(external_ids[start : start + 500]),
            )
            found.update((row[0], row[1]) for row in await self.session.execute(query))
        return found

    async def get(self, purchase_id: int, *, for_update: bool = False) -> Purchase | None:
        query = select(Purchase).where(Purchase.id == purchase_id)
        if for_update:  # a locked read gives what is committed, not what was loaded before
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def insert(
        self, values: dict[str, Any], breakdown: list[dict[str, Any]], lines: Sequence[Any]
    ) -> int | None:
        """Insert a purchase (``values`` keyed by :data:`PURCHASE_COLUMNS`) and its lines
        (tuples in :data:`LINE_COLUMNS` order); the new id, or ``None`` without writing when
        the program already has a purchase with its ``external_id`` (the unique key decides,
        also between concurrent writers)."""
        raw = await raw_of(self.session)
        parameters = [values[name] for name in PURCHASE_COLUMNS]
        row = await raw.one(_INSERT_PURCHASE, *parameters, json_text(pack(breakdown)))
        if row is None:
            return None
        purchase_id = int(row[0])
        member_id = values["member_id"]
        if lines:
            await raw.many(_INSERT_LINES, [(purchase_id, member_id, *line) for line in lines])
        return purchase_id

    async def set_earn_entry(self, purchase_id: int, entry_id: int) -> None:
        await (await raw_of(self.session)).run(_SET_EARN_ENTRY, entry_id, purchase_id)

    async def lines(self, purchase_id: int) -> list[PurchaseLine]:
        query = select(PurchaseLine).where(PurchaseLine.purchase_id == purchase_id)
        return list((await self.session.execute(query.order_by(PurchaseLine.line_no))).scalars())

    async def of_member(self, member_id: int, limit: int) -> list[Purchase]:
        """The member's newest purchases (index ``ix_purchases_member_occurred``)."""
        query = (
            select(Purchase)
            .where(Purchase.member_id == member_id)
            .order_by(Purchase.occurred_at.desc(), Purchase.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def lines_of(self, purchase_ids: Sequence[int]) -> dict[int, list[PurchaseLine]]:
        found: dict[int, list[PurchaseLine]] = {purchase_id: [] for purchase_id in purchase_ids}
        if not purchase_ids:
            return found
        query = (
            select(PurchaseLine)
            .where(PurchaseLine.purchase_id.in_(purchase_ids))
            .order_by(PurchaseLine.purchase_id, PurchaseLine.line_no)
        )
        for line in (await self.session.execute(query)).scalars():
            found[line.purchase_id].append(line)
        return found

    async def record_return(
        self,
        purchase: Purchase,
        lines: Sequence[PurchaseLine],
        record: PurchaseReturn,
        returned: dict[int, int],
    ) -> PurchaseReturn:
        """Store the return and add it to the purchase's and the lines' running totals.

        The increments go to the driver (``x = x + d``, under the row lock the caller took);
        the loaded ``purchase`` and ``lines`` get the new totals as their committed state, so
        that they stay what the database holds without another read."""
        self.session.add(record)
        raw = await raw_of(self.session)  # flushes the return
        await raw.run(_ADD_REFUND, record.amount, record.points_reversed, purchase.id)
        if returned:
            rows = [(quantity, purchase.id, line_no) for line_no, quantity in returned.items()]
            await raw.many(_ADD_RETURNED_QUANTITY, rows)
        for line in lines:
            if line.line_no in returned:
                quantity = line.returned_quantity + returned[line.line_no]
                set_committed_value(line, "returned_quantity", quantity)
        set_committed_value(purchase, "refunded", purchase.refunded + record.amount)
        reversed_now = purchase.points_reversed + record.points_reversed
        set_committed_value(purchase, "points_reversed", reversed_now)
        return record

    async def return_by_external_id(
        self, purchase_id: int, external_id: str
    ) -> PurchaseReturn | None:
        query = select(PurchaseReturn).where(
            PurchaseReturn.purchase_id == purchase_id, PurchaseReturn.external_id == external_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def returns(self, purchase_id: int) -> list[PurchaseReturn]:
        query = select(PurchaseReturn).where(PurchaseReturn.purchase_id == purchase_id)
        return list((await self.session.execute(query.order_by(PurchaseReturn.id))).scalars())

    async def money_spent(self, member_id: int, since: datetime | None) -> int:
        """Money a member spent (totals less shipping and refunds) since ``since``."""
        spent = func.coalesce(func.sum(Purchase.total - Purchase.shipping - Purchase.refunded), 0)
        query = select(spent).where(Purchase.member_id == member_id)
        if since is not None:
            query = query.where(Purchase.occurred_at >= since)
        return int((await self.session.execute(query)).scalar_one())


class RuleUsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def counts(self, member_id: int, keys: Iterable[tuple[str, str]]) -> dict[str, int]:
        """Usage per rule id for the given (rule id, period key) pairs."""
        pairs = list(keys)
        if not pairs:
            return {}
        raw = await raw_of(self.session)
        rows = await raw.all(
            _usage_query(len(pairs)), member_id, *[v for pair in pairs for v in pair]
        )
        return {rule: count for rule, count in rows}

    async def increment(self, member_id: int, rule_id: str, period_key: str) -> None:
        """``count = count + 1``, creating the row at 1 (an upsert; the caller holds the
        account lock)."""
        raw = await raw_of(self.session)
        await raw.run(_INCREMENT_USAGE, member_id, rule_id, period_key)
