"""The settlement reconciles with the ledger (hypothesis): for random purchases at two
partners, payments with points and returns, spread over days, the settlement of any period
equals the sums of the ledger's own rows for it (:func:`tests.partners.helpers.ledger_figures`,
which does not use the settlement's code), the points of two adjacent periods add up to their
union's, and ``patron verify``'s checks find no breach. On both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.kit.db import Database
from patron.ledger.errors import InsufficientPointsError
from patron.ledger.verify import verify as verify_ledger
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.partners import service as partner_service
from patron.partners.schemas import PartnerPaymentCreate, PartnerPurchaseCreate
from patron.partners.settlement import settlements
from patron.programs import service as program_service
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate
from patron.purchases.wallet_pay import verify_paid
from tests.conftest import SEED_PROGRAM
from tests.partners.helpers import PARTNERS, ledger_figures

BASE = datetime(2027, 3, 1, 9, tzinfo=UTC)
PARTNER_IDS = ("cafe-nord", "kino")

_BUY = st.tuples(st.just("buy"), st.integers(0, 1), st.integers(1, 2_000_000))
_PAY = st.tuples(st.just("pay"), st.integers(0, 1), st.integers(1, 400))
_RETURN = st.tuples(st.just("return"), st.integers(0, 20), st.integers(1, 100))
STEPS = st.lists(
    st.tuples(st.one_of(_BUY, _BUY, _PAY, _RETURN), st.integers(0, 30)), min_size=1, max_size=10
)


async def _setup(database: Database) -> tuple[Any, list[str]]:
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text() + PARTNERS, created_by="tests", now=BASE
        )
        active = await program_service.get_active_program(session)
        cards = []
        for _ in range(2):
            card = f"m-{uuid.uuid4().hex[:12]}"
            await member_service.enrol_member(
                session, program_id=active.program_id, data=MemberCreate(external_id=card), now=BASE
            )
            cards.append(card)
    return active, cards


async def _run(database: Database, steps: list[tuple[tuple[str, int, int], int]]) -> datetime:
    active, cards = await _setup(database)
    now = BASE
    purchases: list[tuple[int, int, int]] = []  # id, total, refunded
    for n, ((kind, first, second), gap_hours) in enumerate(steps):
        now += timedelta(hours=gap_hours, seconds=1)
        card = cards[n % 2]
        tag = uuid.uuid4().hex[:10]
        if kind == "buy":
            data = PartnerPurchaseCreate(
                external_id=tag,
                member_external_id=card,
                amount=f"{second / 100:.2f}",
                occurred_at=now - timedelta(days=20),
            )
            async with database.write() as session:
                made, _ = await partner_service.report_purchase(
                    session, active=active, partner_id=PARTNER_IDS[first], data=data, now=now
                )
            purchases.append((made.purchase_id, second, 0))
        elif kind == "pay":
            payment = PartnerPaymentCreate(external_id=tag, member_external_id=card, points=second)
            try:
                async with database.write() as session:
                    await partner_service.accept_payment(
                        session, active=active, partner_id=PARTNER_IDS[first], data=payment, now=now
                    )
            except InsufficientPointsError:
                pass  # refused before writing anything
        elif purchases:
            index = first % len(purchases)
            purchase_id, total, refunded = purchases[index]
            amount = max(1, (total - refunded) * second // 100)
            if refunded >= total:
                continue
            async with database.write() as session:
                await record_return(
                    session,
                    active=active,
                    purchase_id=purchase_id,
                    data=ReturnCreate(external_id=tag, amount=f"{amount / 100:.2f}"),
                    now=now,
                )
            purchases[index] = (purchase_id, total, refunded + amount)
    return now


def _figures(found: list[Any]) -> dict[str, dict[str, int]]:
    keys = ("points_issued", "points_returned", "points_redeemed")
    money = ("owed_by_partner", "owed_to_partner")
    return {s.partner_id: {k: getattr(s, k) for k in keys + money} for s in found}


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, cut=st.floats(0.01, 0.99))
async def test_the_settlement_is_the_ledger_s_sums(
    database: Database, steps: list[tuple[tuple[str, int, int], int]], cut: float
) -> None:
    end = await _run(database, steps) + timedelta(seconds=1)
    start = BASE
    middle = start + (end - start) * cut
    async with database.read() as session:
        active = await program_service.get_active_program(session)
        whole = _figures(await settlements(session, active=active, start=start, end=end))
        first = _figures(await settlements(session, active=active, start=start, end=middle))
        second = _figures(await settlements(session, active=active, start=middle, end=end))
        # past every example's entries (the examples share the database and start at BASE)
        later = BASE + timedelta(days=60)
        breaches = await verify_ledger(session, now=later) + await verify_paid(session)
    assert breaches == []
    assert whole == await ledger_figures(database, start, end)
    assert first == await ledger_figures(database, start, middle)
    assert second == await ledger_figures(database, middle, end)
    for partner in PARTNER_IDS:
        for key in ("points_issued", "points_returned", "points_redeemed"):
            assert first[partner][key] + second[partner][key] == whole[partner][key]
        for key in ("owed_by_partner", "owed_to_partner"):  # each period rounds once
            assert abs(first[partner][key] + second[partner][key] - whole[partner][key]) <= 1
