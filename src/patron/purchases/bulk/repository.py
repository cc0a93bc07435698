"""The queries of the bulk import: what a batch needs to know before it is scored.

A lookup of many keys is one statement whatever their number: the keys travel as one
parameter, a JSON array read by ``json_each`` on SQLite, an array compared with ``= ANY`` on
PostgreSQL (no ``IN`` list of thousands of parameters to render and bind). On PostgreSQL
:meth:`BulkRepository.member_states` locks the batch's accounts first (``SELECT ... FOR
UPDATE`` in account id order, the order every multi-account writer uses), so that tiers, debt,
counters and rule usage cannot change under the batch; on SQLite the write unit of work
already holds the database's write lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import ARRAY, ColumnElement, String, any_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger.models import accounts
from patron.members.models import Member, MemberStatus
from patron.programs.schema import Program
from patron.purchases.models import Purchase, RuleUsage
from patron.tiers import service as tier_service

CHUNK = 1000
T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _frame(rows: list[tuple[Any, ...]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


class BulkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.is_postgresql = session.get_bind().dialect.name == "postgresql"

    def one_of(self, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
        """``column`` is one of ``values``, with ``values`` bound as a single parameter."""
        if self.is_postgresql:
            return column == any_(literal(list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]
        each = func.json_each(literal(json.dumps(list(values)), type_=String())).table_valued(
            "value"
        )
        return column.in_(select(each.c.value))  # type: ignore[no-any-return]

    async def _rows(self, query: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.session.execute(query)]

    async def members(self, program_id: int, external_ids: Sequence[str]) -> pl.DataFrame:
        """``member_external_id``, ``member_id``, ``is_active`` of the program's members
        among ``external_ids`` (unknown ids are absent)."""
        query = select(Member.external_id, Member.id, Member.status == MemberStatus.ACTIVE).where(
            Member.program_id == program_id, self.one_of(Member.external_id, external_ids)
        )
        schema = {
            "member_external_id": pl.String(),
            "member_id": pl.Int64(),
            "is_active": pl.Boolean(),
        }
        return _frame(await self._rows(query) if external_ids else [], schema)

    async def existing_purchases(
        self, program_id: int, external_ids: Sequence[str]
    ) -> pl.DataFrame:
        """``external_id`` and ``existing_hash`` of the purchases already recorded."""
        query = select(Purchase.external_id, Purchase.request_hash).where(
            Purchase.program_id == program_id, self.one_of(Purchase.external_id, external_ids)
        )
        schema = {"external_id": pl.String(), "existing_hash": pl.String()}
        return _frame(await self._rows(query) if external_ids else [], schema)

    async def member_states(self, member_ids: Sequence[int]) -> pl.DataFrame:
        """Per member: ``tier_id``, ``account_id``, ``debt``, ``lifetime_earned`` (account
        columns null when the member has none). On PostgreSQL the accounts are locked first,
        in id order, then the members' tiers read."""
        schema = {
            "member_id": pl.Int64(),
            "tier_id": pl.String(),
            "account_id": pl.Int64(),
            "debt": pl.Int64(),
            "lifetime_earned": pl.Int64(),
        }
        if not member_ids:
            return pl.DataFrame(schema=schema)
        ordered = sorted(member_ids)
        if not self.is_postgresql:  # one statement: the unit of work holds the write lock
            joined = (
                select(
                    Member.id,
                    Member.tier_id,
                    accounts.c.id,
                    accounts.c.debt,
                    accounts.c.lifetime_earned,
                )
                .outerjoin(accounts, accounts.c.member_id == Member.id)
                .where(self.one_of(Member.id, ordered))
            )
            return _frame(await self._rows(joined), schema)
        columns = (accounts.c.member_id, accounts.c.id, accounts.c.debt, accounts.c.lifetime_earned)
        query = (
            select(*columns)
            .where(self.one_of(accounts.c.member_id, ordered))
            .order_by(accounts.c.id)
            .with_for_update()
        )
        found = _frame(
            await self._rows(query),
            {
                "member_id": pl.Int64(),
                "account_id": pl.Int64(),
                "debt": pl.Int64(),
                "lifetime_earned": pl.Int64(),
            },
        )
        tiers = select(Member.id, Member.tier_id).where(self.one_of(Member.id, ordered))
        members = _frame(await self._rows(tiers), {"member_id": pl.Int64(), "tier_id": pl.String()})
        return members.join(found, on="member_id", how="left").select(list(schema))

    async def rule_usage(self, member_ids: Sequence[int], rule_ids: Sequence[str]) -> pl.DataFrame:
        """Prior usage of the limited rules (``member_id``, ``rule_id``, ``period_key``,
        ``used``), every period (the scorer picks the purchases' periods)."""
        schema = {
            "member_id": pl.Int64(),
            "rule_id": pl.String(),
            "period_key": pl.String(),
            "used": pl.Int64(),
        }
        if not rule_ids or not member_ids:
            return pl.DataFrame(schema=schema)
        query = select(
            RuleUsage.member_id, RuleUsage.rule_id, RuleUsage.period_key, RuleUsage.count
        ).where(
            self.one_of(RuleUsage.member_id, sorted(member_ids)),
            RuleUsage.rule_id.in_(list(rule_ids)),
        )
        return _frame(await self._rows(query), schema)

    async def tier_metrics(
        self, program: Program, member_ids: Sequence[int], now: datetime
    ) -> dict[int, int]:
        """The tiers' qualification metric of each member, as the per-event path reads it."""
        found: dict[int, int] = {}
        for chunk in chunks(sorted(member_ids)):
            found.update(
                await tier_service.metrics(self.session, program=program, member_ids=chunk, now=now)
            )
        return found
