"""All queries of support tickets (the returns statistics live in :mod:`.returns_repository`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from patron.purchases.models import Purchase, PurchaseReturn
from patron.support import sla
from patron.support.models import GoodwillCredit, Ticket, TicketEvent, TicketMessage
from patron.support.schemas import ResolvedTicket, TicketFilter
from patron.support.states import ACTIVE_STATUSES, GoodwillStatus, TicketPriority, TicketSource

PRIORITY_RANK = case(
    {priority.value: priority.rank for priority in TicketPriority}, value=Ticket.priority
)


def queue_order() -> tuple[Any, ...]:
    """Explicit priority first (urgent, high, normal, low), then members with the
    ``priority_support`` perk, then the oldest ticket."""
    return (
        PRIORITY_RANK.desc(),
        Ticket.has_priority_support.desc(),
        Ticket.created_at,
        Ticket.id,
    )


@dataclass(frozen=True, slots=True)
class KpiRow:
    """What the KPIs need of one ticket."""

    created_at: datetime
    first_response_at: datetime | None
    first_response_due_at: datetime
    resolved_at: datetime | None
    resolution_due_at: datetime
    is_active: bool
    tier_id: str | None
    store: str | None
    assignee: str | None
    goodwill_points: int


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        """``for_update`` locks the row on PostgreSQL; SQLite writers are serialised."""
        query = select(Ticket).where(Ticket.id == ticket_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def by_source_ref(
        self, program_id: int, source: TicketSource, source_ref: str
    ) -> Ticket | None:
        query = select(Ticket).where(
            Ticket.program_id == program_id,
            Ticket.source == source,
            Ticket.source_ref == source_ref,
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def try_insert(self, ticket: Ticket) -> bool:
        """Insert inside a savepoint; False when the ``source_ref`` is taken (a concurrent
        open of the same ticket won)."""
        try:
            async with self.session.begin_nested():
                self.session.add(ticket)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def add(self, row: TicketMessage | TicketEvent | GoodwillCredit) -> None:
        self.session.add(row)
        await self.session.flush()

    async def page(
        self, program_id: int, where: TicketFilter, now: datetime, limit: int, offset: int
    ) -> list[Ticket]:
        query = select(Ticket).where(Ticket.program_id == program_id)
        if where.status is not None:
            query = query.where(Ticket.status == where.status)
        elif where.active_only:
            query = query.where(Ticket.status.in_(sorted(ACTIVE_STATUSES)))
        if where.assignee is not None:
            query = query.where(Ticket.assignee == where.assignee)
        if where.member_id is not None:
            query = query.where(Ticket.member_id == where.member_id)
        if where.has_priority_support is not None:
            query = query.where(Ticket.has_priority_support.is_(where.has_priority_support))
        if where.breached is not None:
            condition = sla.breached(now)
            query = query.where(condition if where.breached else ~condition)
        query = query.order_by(*queue_order()).limit(limit).offset(offset)
        return list((await self.session.execute(query)).scalars())

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        query = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
        return list((await self.session.execute(query.order_by(TicketMessage.id))).scalars())

    async def message_by_key(self, ticket_id: int, key: str) -> TicketMessage | None:
        query = select(TicketMessage).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.idempotency_key == key
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        return list((await self.session.execute(query.order_by(TicketEvent.id))).scalars())

    async def goodwill(self, ticket_id: int) -> list[GoodwillCredit]:
        query = select(GoodwillCredit).where(GoodwillCredit.ticket_id == ticket_id)
        return list((await self.session.execute(query.order_by(GoodwillCredit.id))).scalars())

    async def goodwill_waiting(self, limit: int) -> list[GoodwillCredit]:
        """Credits waiting for an admin's approval, across tickets, the oldest first."""
        query = (
            select(GoodwillCredit)
            .where(GoodwillCredit.status == GoodwillStatus.PENDING_APPROVAL.value)
            .order_by(GoodwillCredit.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def goodwill_waiting_count(self) -> int:
        query = select(func.count()).where(
            GoodwillCredit.status == GoodwillStatus.PENDING_APPROVAL.value
        )
        return int((await self.session.execute(query)).scalar_one())

    async def goodwill_by_key(self, ticket_id: int, key: str) -> GoodwillCredit | None:
        query = select(GoodwillCredit).where(
            GoodwillCredit.ticket_id == ticket_id, GoodwillCredit.idempotency_key == key
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def goodwill_for_update(self, ticket_id: int, goodwill_id: int) -> GoodwillCredit | None:
        query = (
            select(GoodwillCredit)
            .where(GoodwillCredit.id == goodwill_id, GoodwillCredit.ticket_id == ticket_id)
            .with_for_update()
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def goodwill_given(
        self,
        *,
        ticket_id: int | None = None,
        member_id: int | None = None,
        key_id: int | None = None,
        since: datetime | None = None,
    ) -> int:
        """Points of the goodwill credits given or waiting (not rejected) of a ticket, a
        member or a key, since ``since``."""
        query = select(func.coalesce(func.sum(GoodwillCredit.points), 0)).where(
            GoodwillCredit.status != GoodwillStatus.REJECTED.value
        )
        if ticket_id is not None:
            query = query.where(GoodwillCredit.ticket_id == ticket_id)
        if member_id is not None:
            query = query.where(GoodwillCredit.member_id == member_id)
        if key_id is not None:
            query = query.where(GoodwillCredit.key_id == key_id)
        if since is not None:
            query = query.where(GoodwillCredit.created_at >= since)
        return int(await self.session.scalar(query) or 0)

    async def add_goodwill_points(self, ticket_id: int, points: int, now: datetime) -> None:
        await self.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(goodwill_points=Ticket.goodwill_points + points, updated_at=now)
        )

    async def mark_breaches(self, now: datetime) -> tuple[int, int]:
        """Stamp ``now`` on every missed target not yet recorded; returns how many tickets
        got a first-response and a resolution breach. A second run finds nothing new."""
        first = await self.session.execute(
            update(Ticket)
            .where(Ticket.first_response_breached_at.is_(None), sla.first_response_missed(now))
            .values(first_response_breached_at=now)
            .execution_options(synchronize_session=False)
        )
        resolution = await self.session.execute(
            update(Ticket)
            .where(Ticket.resolution_breached_at.is_(None), sla.resolution_missed(now))
            .values(resolution_breached_at=now)
            .execution_options(synchronize_session=False)
        )
        return _count(first), _count(resolution)

    async def resolved_between(
        self, since: datetime, until: datetime | None, limit: int
    ) -> list[ResolvedTicket]:
        query = select(
            Ticket.id,
            Ticket.member_id,
            Ticket.assignee,
            Ticket.channel,
            Ticket.category,
            Ticket.resolved_at,
        ).where(Ticket.resolved_at >= since)
        if until is not None:
            query = query.where(Ticket.resolved_at < until)
        query = query.order_by(Ticket.resolved_at, Ticket.id).limit(limit)
        rows = (await self.session.execute(query)).all()
        return [
            ResolvedTicket(row[0], row[1], row[2], row[3], row[4], row[5])
            for row in rows
            if row[5] is not None
        ]

    async def kpi_rows(
        self, program_id: int, date_from: datetime | None, date_to: datetime | None
    ) -> list[KpiRow]:
        query = select(
            Ticket.created_at,
            Ticket.first_response_at,
            Ticket.first_response_due_at,
            Ticket.resolved_at,
            Ticket.resolution_due_at,
            Ticket.status.in_(ACTIVE_STATUSES),
            Ticket.tier_id,
            Ticket.store,
            Ticket.assignee,
            Ticket.goodwill_points,
        ).where(Ticket.program_id == program_id)
        if date_from is not None:
            query = query.where(Ticket.created_at >= date_from)
        if date_to is not None:
            query = query.where(Ticket.created_at < date_to)
        rows = (await self.session.execute(query.order_by(Ticket.id))).all()
        return [
            KpiRow(
                created_at=row[0],
                first_response_at=row[1],
                first_response_due_at=row[2],
                resolved_at=row[3],
                resolution_due_at=row[4],
                is_active=bool(row[5]),
                tier_id=row[6],
                store=row[7],
                assignee=row[8],
                goodwill_points=int(row[9]),
            )
            for row in rows
        ]

    async def purchase(self, purchase_id: int) -> Purchase | None:
        return await self.session.get(Purchase, purchase_id)

    async def purchase_return(self, return_id: int) -> PurchaseReturn | None:
        return await self.session.get(PurchaseReturn, return_id)


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
