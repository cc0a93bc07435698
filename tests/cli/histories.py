"""Small random store histories written through the real services, for the "never crash"
tests of ``patron jobs run`` and ``patron analytics``.

A history is plain data (members, their purchases, returns and redemptions) so that
hypothesis can draw and shrink it; :func:`build_history` empties the database and replays it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.migrations import upgrade_schema
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.returns import record_return
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate, ReturnCreate
from patron.rewards.redeem import redeem
from tests.conftest import SEED_PROGRAM, _empty_all_tables

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=500)
REWARD = "DISC10"  # 100 points in the seed program


@dataclass(frozen=True)
class Visit:
    """A purchase ``days_ago`` days and ``hours_ago`` hours before :data:`NOW`; ``refund`` is
    None for no return, 0 for a return of the whole purchase, else the refunded minor units."""

    days_ago: int
    hours_ago: int
    total: int
    refund: int | None = None


@dataclass(frozen=True)
class Customer:
    visits: tuple[Visit, ...] = ()
    redeems: bool = False


@dataclass(frozen=True)
class History:
    customers: tuple[Customer, ...] = field(default_factory=tuple)


def visit(days_ago: int, total: int, *, hours_ago: int = 2, refund: int | None = None) -> Visit:
    return Visit(days_ago=days_ago, hours_ago=hours_ago, total=total, refund=refund)


@st.composite
def visits(draw: st.DrawFn) -> Visit:
    """Days cluster near :data:`NOW` and on few distinct values, as in a young shop: the
    degenerate cases (same day, today, one day apart) come up often."""
    days = draw(st.one_of(st.sampled_from([0, 1, 2, 100, 101]), st.integers(0, 400)))
    total = draw(st.sampled_from([100, 1_000, 50_000, 1_000_000]))
    refund = draw(st.one_of(st.none(), st.none(), st.just(0), st.integers(1, total)))
    return Visit(days_ago=days, hours_ago=draw(st.integers(0, 11)), total=total, refund=refund)


customers = st.builds(
    Customer, visits=st.lists(visits(), max_size=5).map(tuple), redeems=st.booleans()
)
histories = st.builds(History, customers=st.lists(customers, max_size=50).map(tuple))


def _amount(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _purchase(external_id: str, member_id: int, item: Visit) -> PurchaseCreate:
    return PurchaseCreate(
        external_id=external_id,
        member_id=member_id,
        occurred_at=NOW - timedelta(days=item.days_ago, hours=item.hours_ago),
        currency="RUB",
        total=_amount(item.total),
        lines=[PurchaseLineCreate(sku="sku-1", category="coffee", quantity=1,
                                  unit_price=_amount(item.total))],
    )  # fmt: skip


def _return(external_id: str, item: Visit) -> ReturnCreate:
    amount = None if not item.refund else _amount(item.refund)
    occurred_at = NOW - timedelta(days=item.days_ago, hours=item.hours_ago - 1)
    return ReturnCreate(external_id=external_id, amount=amount, occurred_at=occurred_at)


async def _replay(database: Database, history: History) -> None:
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), key="default", created_by="tests", now=START
        )
        active = await program_service.get_active_program(session, key="default")
        for number, customer in enumerate(history.customers, start=1):
            member = await member_service.enrol_member(
                session,
                program_id=active.program_id,
                data=MemberCreate(external_id=f"c{number}"),
                now=START,
            )
            for index, item in enumerate(customer.visits):
                name = f"c{number}-{index}"
                recorded = await record_purchase(
                    session, active=active, data=_purchase(name, member.id, item), now=NOW
                )
                if item.refund is not None:
                    await record_return(
                        session,
                        active=active,
                        purchase_id=recorded.purchase.id,
                        data=_return(f"{name}-r", item),
                        now=NOW,
                    )
            balance = await ledger_service.balance(session, member_id=member.id, now=NOW)
            if customer.redeems and balance.available >= 100:
                await redeem(
                    session, active=active, member_id=member.id, reward_code=REWARD, now=NOW
                )


def build_history(url: str, history: History) -> None:
    """Empty the database at ``url`` and write ``history`` into it (seed program "default")."""

    async def build() -> None:
        database = Database(url)
        try:
            await upgrade_schema(database.url)
            await _empty_all_tables(database)
            await _replay(database, history)
        finally:
            await database.dispose()

    asyncio.run(build())
