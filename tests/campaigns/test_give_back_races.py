"""Returns give back under races and at random (on SQLite and PostgreSQL): returns retried at
once and purchases racing for a small budget never overspend it nor take it below 0, each
return gives back once; and for any sequence of purchases, returns, retries and cashback
runs, the campaign's counters are exactly what the ledger and the wallet show it still gives
(hypothesis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from patron.campaigns.models import CampaignApplication
from patron.kit.db import Database
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.errors import ReturnExceedsPurchaseError
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate
from tests.campaigns.give_back import GIVER, Counter, counter, member_uses, still_gives
from tests.campaigns.triggers import enrol
from tests.wallet.helpers import NOW, active, breaches, pay_cashback, program_text, purchase_body


@pytest.fixture
async def wide_database(database: Database) -> AsyncIterator[Database]:
    """The test database with a pool wide enough for the writes to really overlap."""
    wide = Database(database.url, pool_size=25)
    yield wide
    await wide.dispose()


async def _apply(database: Database, campaign: str) -> int:
    async with database.write() as session:
        applied = await program_service.apply_program(
            session, text=program_text(campaign), key="default", created_by="tests", now=NOW
        )
    return applied.program_id


async def _buy(database: Database, external_id: str, member: str, total: str = "1000.00") -> int:
    program = await active(database)
    body = purchase_body(external_id, total, member=member)

    async def work(session):  # type: ignore[no-untyped-def]
        recorded = await record_purchase(session, active=program, data=body, now=NOW)
        return recorded.purchase.id

    return int(await database.write_again_on_deadlock(work))


async def _return(database: Database, purchase_id: int, key: str, amount: str | None) -> None:
    program = await active(database)
    data = ReturnCreate.model_validate(
        {"external_id": key, **({"amount": amount} if amount else {})}
    )

    async def work(session):  # type: ignore[no-untyped-def]
        await record_return(session, active=program, purchase_id=purchase_id, data=data, now=NOW)

    await database.write_again_on_deadlock(work)


async def _applied_to(database: Database, purchase_ids: list[int]) -> int:
    async with database.read() as session:
        found = await session.scalar(
            select(func.count()).where(CampaignApplication.purchase_id.in_(purchase_ids))
        )
    return int(found or 0)


async def test_returns_retried_at_once_and_purchases_racing_never_overspend(
    wide_database: Database,
) -> None:
    database = wide_database
    program_id = await _apply(database, GIVER)
    members = [f"m-{n:02d}" for n in range(33)]
    for member in members:
        await enrol(database, program_id, member)
    first = [await _buy(database, f"p-{n}", members[n]) for n in range(3)]
    await pay_cashback(database)
    assert await counter(database) == Counter(3, 300, 15000)  # the budgets are used up

    returns = [
        *[_return(database, first[0], "a", "300.00") for _ in range(3)],
        *[_return(database, first[0], "b", "700.00") for _ in range(3)],
        *[_return(database, first[1], "all", None) for _ in range(5)],
        *[_return(database, first[2], "half", "500.00") for _ in range(5)],
    ]
    buys = [_buy(database, f"q-{n}", members[n]) for n in range(3, 33)]
    results = await asyncio.gather(*returns, *buys, return_exceptions=True)
    # a retry of "a" or "b" after both were recorded finds its own return recorded before
    assert [r for r in results if isinstance(r, BaseException)] == []
    later = [r for r in results[len(returns) :] if isinstance(r, int)]
    await pay_cashback(database)

    # the first purchase and the second wholly returned, the third half: 50 points and 25.00
    # of it stay spent, so at most two of the thirty purchases found room in the budgets
    new = await _applied_to(database, later)
    assert new <= 2
    found = await counter(database)
    assert found == Counter(1 + new, 50 + 100 * new, 2500 + 5000 * new)
    assert found == await still_gives(database)
    assert await member_uses(database) == found.uses
    assert await breaches(database) == []


Step = tuple[str, int, int]

_BUY = st.tuples(st.just("buy"), st.integers(0, 2), st.integers(5_000, 400_000))
_RETURN = st.tuples(st.just("return"), st.integers(0, 20), st.integers(0, 100))
_AGAIN = st.tuples(st.just("again"), st.just(0), st.just(0))
_PAY = st.tuples(st.just("pay"), st.just(0), st.just(0))
STEPS = st.lists(st.one_of(_BUY, _BUY, _RETURN, _RETURN, _AGAIN, _PAY), min_size=1, max_size=14)

PROPERTY_CAMPAIGN = GIVER.replace(
    "per_member: 1, period: month, total: 50", "per_member: 2, total: 5"
)


async def _walk(database: Database, steps: list[Step]) -> None:
    key = f"g{uuid.uuid4().hex[:10]}"  # each example its own campaign and members
    program_id = await _apply(database, PROPERTY_CAMPAIGN.replace("key: giver", f"key: {key}"))
    members = [f"{key}-{n}" for n in range(3)]
    async with database.write() as session:
        for member in members:
            await member_service.enrol_member(
                session, program_id=program_id, data=MemberCreate(external_id=member), now=NOW
            )
    purchases: list[tuple[int, int, int]] = []  # id, total, refunded (minor units)
    last: tuple[int, str, str | None] | None = None
    for n, (kind, first, second) in enumerate(steps):
        if kind == "buy":
            # 50.00 to 4,000.00: under 100.00 the campaign does not apply, over 3,000.00 its
            # cashback is more than the whole money budget
            purchase_id = await _buy(database, f"{key}-p{n}", members[first], f"{second / 100:.2f}")
            purchases.append((purchase_id, second, 0))
            event("bought")
        elif kind == "return" and purchases:
            index = first % len(purchases)
            purchase_id, total, refunded = purchases[index]
            amount = (total - refunded) * second // 100
            if amount <= 0 and refunded < total:
                amount = total - refunded  # 0 %: the rest
            if refunded >= total:
                event("return of a returned purchase refused")
                with pytest.raises(ReturnExceedsPurchaseError):
                    await _return(database, purchase_id, f"r{n}", None)
                continue
            text = None if refunded + amount >= total else f"{amount / 100:.2f}"
            await _return(database, purchase_id, f"r{n}", text)
            purchases[index] = (purchase_id, total, refunded + amount)
            last = (purchase_id, f"r{n}", text)
            event("whole return" if text is None else "partial return")
        elif kind == "again" and last is not None:
            await _return(database, *last)  # a retry: answered as before, gives nothing more
            event("retry")
        elif kind == "pay":
            await pay_cashback(database)
        found = await counter(database, key)
        assert found == await still_gives(database, key)
        assert 0 <= found.points <= 300
        assert 0 <= found.money <= 15000
        assert 0 <= found.uses <= 5
        assert await member_uses(database, key) == found.uses
    await pay_cashback(database)
    assert await counter(database, key) == await still_gives(database, key)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_the_budget_spent_is_what_the_ledger_shows_the_campaign_still_gives(
    database: Database, steps: list[Step]
) -> None:
    await _walk(database, steps)
