"""The wallet's invariant under random sequences of cashback, spends and returns (hypothesis):
after every step the balance is what a plain model of the rules says (5 % cashback of what
was paid otherwise, rounded down; a spend above the balance refused and changing nothing; a
return giving back what the wallet paid in proportion (never more than the return's amount),
then taking back the purchase's cashback in proportion, never below 0), it is never
negative, and ``patron verify`` finds no breach. On both databases."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from patron.kit.db import Database
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate
from patron.wallet.errors import InsufficientWalletError, WalletAmountInvalidError
from patron.wallet.models import WalletEntry
from tests.wallet.helpers import NOW, active, breaches, pay_cashback, program_text, purchase_body

Buy = tuple[str, int, int]  # ("buy", total in kopecks, wallet share in percent of the total)
Return = tuple[str, int, int]  # ("return", which purchase, percent of what is left to refund)

_BUY = st.tuples(
    st.just("buy"), st.integers(1, 500_000), st.sampled_from([0, 0, 0, 5, 30, 100, 101, 120])
)
_RETURN = st.tuples(st.just("return"), st.integers(0, 20), st.integers(1, 100))
STEPS = st.lists(st.one_of(_BUY, _RETURN), min_size=1, max_size=12)


class Model:
    """What the wallet should hold, by the documented rules."""

    def __init__(self) -> None:
        self.balance = 0
        self.credited: dict[int, int] = {}
        self.reversed: dict[int, int] = {}
        self.spent: dict[int, int] = {}
        self.refunded: dict[int, int] = {}

    def refund(self, purchase_id: int, refunded: int, paid_for_goods: int, amount: int) -> None:
        spent = self.spent.get(purchase_id, 0)
        target = spent if refunded >= paid_for_goods else spent * refunded // paid_for_goods
        due = min(target - self.refunded.get(purchase_id, 0), amount)
        event("wallet part given back" if due > 0 else "no wallet part")
        if due > 0:
            self.balance += due
            self.refunded[purchase_id] = self.refunded.get(purchase_id, 0) + due

    def reverse(self, purchase_id: int, refunded: int, paid_for_goods: int) -> None:
        credited = self.credited.get(purchase_id, 0)
        target = credited if refunded >= paid_for_goods else credited * refunded // paid_for_goods
        due = min(target - self.reversed.get(purchase_id, 0), self.balance)
        event("cashback taken back" if due > 0 else "nothing to take back")
        if due > 0:
            self.balance -= due
            self.reversed[purchase_id] = self.reversed.get(purchase_id, 0) + due


async def _balance(database: Database, member_id: int) -> int:
    async with database.read() as session:
        rows = await session.scalars(
            select(WalletEntry.amount).where(WalletEntry.member_id == member_id)
        )
        return sum(rows)


async def _run(database: Database, steps: list[tuple[str, int, int]]) -> None:
    program = await active(database)
    external = f"m-{uuid.uuid4().hex[:12]}"
    async with database.write() as session:
        member = await member_service.enrol_member(
            session,
            program_id=program.program_id,
            data=MemberCreate(external_id=external),
            now=NOW,
        )
    model = Model()
    purchases: list[tuple[int, int, int]] = []  # id, total, refunded
    for n, (kind, first, second) in enumerate(steps):
        if kind == "buy":
            total, share = first, second
            wallet = total * share // 100
            body = purchase_body(
                f"{external}-{n}",
                f"{total / 100:.2f}",
                member=external,
                wallet=f"{wallet / 100:.2f}",
            )
            try:
                async with database.write() as session:
                    recorded = await record_purchase(session, active=program, data=body, now=NOW)
            except WalletAmountInvalidError:
                event("wallet above the total")
                assert wallet > total
            except InsufficientWalletError:
                event("wallet above the balance")
                assert total >= wallet > model.balance
            else:
                assert wallet <= min(model.balance, total)
                model.balance -= wallet
                await pay_cashback(database)
                cashback = (total - wallet) * 5 // 100
                model.balance += cashback
                model.credited[recorded.purchase.id] = cashback
                model.spent[recorded.purchase.id] = wallet
                purchases.append((recorded.purchase.id, total, 0))
        elif purchases:
            index = first % len(purchases)
            purchase_id, total, refunded = purchases[index]
            amount = (total - refunded) * second // 100
            if amount <= 0:
                continue
            data = ReturnCreate.model_validate(
                {"external_id": f"r-{n}", "amount": f"{amount / 100:.2f}"}
            )
            async with database.write() as session:
                await record_return(
                    session, active=program, purchase_id=purchase_id, data=data, now=NOW
                )
            purchases[index] = (purchase_id, total, refunded + amount)
            model.refund(purchase_id, refunded + amount, total, amount)
            model.reverse(purchase_id, refunded + amount, total)
        assert await _balance(database, member.id) == model.balance >= 0
    assert await breaches(database) == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_the_wallet_invariant_holds_under_random_sequences(
    database: Database, steps: list[tuple[str, int, int]]
) -> None:
    async with database.write() as session:  # the same text again stores no new version
        await program_service.apply_program(
            session, text=program_text(), key="default", created_by="tests", now=NOW
        )
    await _run(database, steps)
