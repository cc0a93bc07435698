"""The queries of the bulk import: what a batch needs to know before it is scored.

Lookups go by chunks of :data:`CHUNK` keys (``IN`` lists) so that a batch costs a handful of
round trips, whatever its size. On PostgreSQL :meth:`BulkRepository.member_states` locks the
batch's accounts first (``SELECT ... FOR UPDATE`` in account id order, the order every
multi-account writer uses), so that tiers, debt, counters and rule usage cannot change under
the batch; on SQLite the write unit of work already holds the database's write lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import ARRAY, BigInteger, any_, bindparam, select
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


def _frame(rows: list[tuple[Any, ...]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


class BulkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.is_postgresql = session.get_bind().dialect.name == "postgresql"

    async def members(self, program_id: int, external_ids: Sequence[str]) -> pl.DataFrame:
        """``member_external_id``, ``member_id``, ``is_active`` of the program's members
        among ``external_ids`` (unknown ids are absent)."""
        rows: list[tuple[Any, ...]] = []
        for chunk in chunks(external_ids):
            query = select(Member.external_id, Member.id, Member.status).where(
                Member.program_id == program_id, Member.external_id.in_(chunk)
            )
            found = await self.session.execute(query)
            rows += [(ext, member_id, status == MemberStatus.ACTIVE) for ext, member_id, status in found]
        schema = {"member_external_id": pl.String(), "member_id": pl.Int64(), "is_active": pl.Boolean()}
        return _frame(rows, schema)

    async def existing_purchases(self, program_id: int, external_ids: Sequence[str]) -> pl.DataFrame:
        """``external_id`` and ``existing_hash`` of the purchases already recorded."""
        rows: list[tuple[Any, ...]] = []
        for chunk in chunks(external_ids):
            query = select(Purchase.external_id, Purchase.request_hash).where(
                Purchase.program_id == program_id, Purchase.external_id.in_(chunk)
            )
            rows += [tuple(row) for row in await self.session.execute(query)]
        return _frame(rows, {"external_id": pl.String(), "existing_hash": pl.String()})

    async def member_states(self, member_ids: Sequence[int]) -> pl.DataFrame:
        """Per member: ``tier_id``, ``account_id``, ``debt``, ``lifetime_earned`` (account
        columns null when the member has none). Locks the accounts on PostgreSQL."""
        ordered = sorted(member_ids)
        columns = (accounts.c.member_id, accounts.c.id, accounts.c.debt, accounts.c.lifetime_earned)
        rows: dict[int, list[Any]] = {}
        if self.is_postgresql:  # one statement, so that the locks are taken in id order
            wanted = bindparam("ids", type_=ARRAY(BigInteger()))
            query = select(*columns).where(accounts.c.member_id == any_(wanted))
            query = query.order_by(accounts.c.id).with_for_update()
            found_accounts = list(await self.session.execute(query, {"ids": ordered}))
        else:
            found_accounts = []
            for chunk in chunks(ordered):
                query = select(*columns).where(accounts.c.member_id.in_(chunk))
                found_accounts += list(await self.session.execute(query))
        for member_id, account_id, debt, lifetime in found_accounts:
            rows[member_id] = [account_id, debt, lifetime]
        found: list[tuple[Any, ...]] = []
        for chunk in chunks(ordered):
            query = select(Member.id, Member.tier_id).where(Member.id.in_(chunk))
            for member_id, tier_id in await self.session.execute(query):
                found.append((member_id, tier_id, *rows.get(member_id, [None, None, None])))
        schema = {
            "member_id": pl.Int64(),
            "tier_id": pl.String(),
            "account_id": pl.Int64(),
            "debt": pl.Int64(),
            "lifetime_earned": pl.Int64(),
        }
        return _frame(found, schema)

    async def rule_usage(self, member_ids: Sequence[int], rule_ids: Sequence[str]) -> pl.DataFrame:
        """Prior usage of the limited rules (``member_id``, ``rule_id``, ``period_key``,
        ``used``), every period (the scorer picks the purchases' periods)."""
        rows: list[tuple[Any, ...]] = []
        if rule_ids:
            for chunk in chunks(sorted(member_ids)):
                query = select(
                    RuleUsage.member_id, RuleUsage.rule_id, RuleUsage.period_key, RuleUsage.count
                ).where(RuleUsage.member_id.in_(chunk), RuleUsage.rule_id.in_(list(rule_ids)))
                rows += [tuple(row) for row in await self.session.execute(query)]
        schema = {
            "member_id": pl.Int64(),
            "rule_id": pl.String(),
            "period_key": pl.String(),
            "used": pl.Int64(),
        }
        return _frame(rows, schema)

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
