"""Set-up for the support tests through the real services: a program with a ``support``
section, members with tiers, tickets, purchases and returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.members.schemas import Member
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram
from patron.purchases.earn import record_purchase
from patron.purchases.returns import record_return
from patron.purchases.schemas import PurchaseCreate, ReturnCreate
from patron.support import service as ticket_service
from patron.support.models import GoodwillCredit, Ticket, TicketEvent, TicketMessage
from patron.support.schemas import Ticket as TicketSchema
from patron.support.states import TicketChannel, TicketSource
from tests.conftest import SEED_PROGRAM
from tests.rewards.factories import earn_tier, enrol

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float = 0, *, seconds: int = 0) -> datetime:
    return T0 + timedelta(hours=hours, seconds=seconds)


def program_text(support: dict[str, Any] | None = None) -> str:
    """The seed program (silver and gold carry ``priority_support``), with ``support``."""
    document = yaml.safe_load(SEED_PROGRAM.read_text(encoding="utf-8"))
    if support is not None:
        document["support"] = support
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


async def apply_program(database: Database, support: dict[str, Any] | None = None) -> ActiveProgram:
    async with database.write() as session:
        await program_service.apply_program(
            session, text=program_text(support), created_by="tests", now=T0
        )
        return await program_service.get_active_program(session)


async def member(
    database: Database, active: ActiveProgram, external_id: str, *, points: int = 0
) -> Member:
    """A member; 5,000 points make them silver (``priority_support``), 15,000 gold."""
    async with database.write() as session:
        found = await enrol(session, active=active, external_id=external_id)
        if points:
            await earn_tier(session, active=active, member_id=found.id, points=points)
    return found


async def open_ticket(
    session: AsyncSession,
    *,
    member_id: int | None,
    now: datetime = T0,
    subject: str = "Coffee machine broken",
    source: TicketSource = TicketSource.MEMBER,
    source_ref: str | None = None,
    **extra: Any,
) -> TicketSchema:
    opened = await ticket_service.open_ticket(
        session,
        member_id=member_id,
        channel=extra.pop("channel", TicketChannel.EMAIL),
        category=extra.pop("category", "product"),
        subject=subject,
        text="It stopped working after a week.",
        source=source,
        source_ref=source_ref,
        now=now,
        **extra,
    )
    return opened.ticket


async def purchase(
    session: AsyncSession,
    active: ActiveProgram,
    *,
    external_id: str,
    member_id: int | None,
    store: str | None,
    lines: list[tuple[str, int, str]],
    now: datetime = T0,
) -> int:
    """A purchase of ``(sku, quantity, unit price)`` lines; its id."""
    total = sum(quantity * int(price.split(".")[0]) for _, quantity, price in lines)
    recorded = await record_purchase(
        session,
        active=active,
        data=PurchaseCreate.model_validate(
            {
                "external_id": external_id,
                "member_id": member_id,
                "occurred_at": now,
                "currency": "RUB",
                "total": f"{total}.00",
                "lines": [
                    {"sku": sku, "quantity": quantity, "unit_price": price}
                    for sku, quantity, price in lines
                ],
                "store": store,
            }
        ),
        now=now,
    )
    return recorded.purchase.id


async def return_lines(
    session: AsyncSession,
    active: ActiveProgram,
    purchase_id: int,
    external_id: str,
    lines: list[tuple[int, int]] | None,
    *,
    amount: str | None = None,
) -> int:
    data: dict[str, Any] = {"external_id": external_id, "occurred_at": T0}
    if lines is not None:
        data["lines"] = [{"line_no": n, "quantity": q} for n, q in lines]
    if amount is not None:
        data["amount"] = amount
    recorded, _ = await record_return(
        session,
        active=active,
        purchase_id=purchase_id,
        data=ReturnCreate.model_validate(data),
        now=T0,
    )
    return recorded.id


async def counts(database: Database) -> dict[str, int]:
    """Rows of every support table: a refused action changes none of them."""
    async with database.read() as session:
        found = {}
        for model in (Ticket, TicketMessage, TicketEvent, GoodwillCredit):
            query = select(func.count()).select_from(model)
            found[model.__tablename__] = (await session.execute(query)).scalar_one()
        return found
