"""Shared setup of the wallet tests: the seed program (RUB, returns policy ``debt``) with a
5 % cashback campaign, purchases that pay from the wallet, returns, and readers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from patron.campaigns.deferred import HANDLERS as DEFERRED_HANDLERS
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import OutboxEvent
from patron.ledger.verify import Breach
from patron.ledger.verify import verify as verify_ledger
from patron.programs import service as program_service
from patron.programs.schemas import ActiveProgram
from patron.purchases.earn import record_purchase
from patron.purchases.returns import record_return
from patron.purchases.schemas import PurchaseCreate, PurchaseRead, ReturnCreate, ReturnRead
from patron.purchases.wallet_pay import verify_paid
from patron.wallet import service as wallet_service
from patron.wallet.models import WalletEntry
from patron.wallet.verify import verify as verify_wallet
from tests.campaigns.programs import with_campaigns
from tests.campaigns.triggers import enrol

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)

CASHBACK = """
  - key: cashback
    name: {en: Cashback, ru: "Кэшбэк", pl: "Cashback"}
    window: {start: "2026-01-01", end: "2030-12-31"}
    effect: {bonus_points: 1}
    deferred:
      - credit_wallet: {percent: "5"}
"""


CASHBACK_REWARD = """rewards:
  - code: CASH100
    name: "100 RUB into your wallet"
    kind: cashback
    value: "100.00"
    cost_points: 0
  - code: SHIP0
    name: "Free delivery, on us"
    kind: free_shipping
    cost_points: 0
"""


def program_text(campaign: str = CASHBACK, *, when_spent: str = "debt") -> str:
    text = with_campaigns(campaign).replace("rewards:\n", CASHBACK_REWARD, 1)
    return text.replace(
        "when_points_already_spent: debt", f"when_points_already_spent: {when_spent}"
    )


async def setup(database: Database, *, when_spent: str = "debt") -> tuple[int, int]:
    """The program applied and one member enrolled: ``(program id, member id)``."""
    async with database.write() as session:
        applied = await program_service.apply_program(
            session,
            text=program_text(when_spent=when_spent),
            key="default",
            created_by="tests",
            now=NOW - timedelta(hours=1),
        )
    member = await enrol(database, applied.program_id, "ann")
    return applied.program_id, member


async def active(database: Database) -> ActiveProgram:
    async with database.read() as session:
        return await program_service.get_active_program(session, key="default")


def purchase_body(
    external_id: str, total: str, *, member: str | None = "ann", wallet: str | None = None
) -> PurchaseCreate:
    body: dict[str, Any] = {
        "external_id": external_id,
        "occurred_at": NOW.isoformat(),
        "currency": "RUB",
        "total": total,
        "lines": [{"sku": "S1", "category": "food", "quantity": 1, "unit_price": total}],
    }
    if member is not None:
        body["member_external_id"] = member
    if wallet is not None:
        body["wallet_amount"] = wallet
    return PurchaseCreate.model_validate(body)


async def buy(
    database: Database, external_id: str, total: str, *, wallet: str | None = None
) -> PurchaseRead:
    program = await active(database)
    async with database.write() as session:
        recorded = await record_purchase(
            session, active=program, data=purchase_body(external_id, total, wallet=wallet), now=NOW
        )
    return recorded.purchase


async def give_back(
    database: Database, purchase_id: int, external_id: str, amount: str | None = None
) -> ReturnRead:
    program = await active(database)
    data = ReturnCreate.model_validate(
        {"external_id": external_id, **({"amount": amount} if amount else {})}
    )
    async with database.write() as session:
        recorded, _created = await record_return(
            session, active=program, purchase_id=purchase_id, data=data, now=NOW
        )
    return recorded


async def pay_cashback(database: Database) -> None:
    """Run the deferred effects' handler over what is due (the cashback)."""
    report = await dispatch_pending(database, DEFERRED_HANDLERS, now=NOW + timedelta(seconds=1))
    assert report.failed == 0


async def balance(database: Database, member_id: int) -> int:
    async with database.read() as session:
        return await wallet_service.balance(session, member_id=member_id)


async def entries(database: Database, member_id: int) -> list[tuple[str, int, int | None]]:
    """``(kind, amount, purchase id)`` of the member's wallet entries, oldest first."""
    async with database.read() as session:
        rows = await session.execute(
            select(WalletEntry.kind, WalletEntry.amount, WalletEntry.purchase_id)
            .where(WalletEntry.member_id == member_id)
            .order_by(WalletEntry.id)
        )
        return [(str(k.value), int(a), p) for k, a, p in rows]


async def breaches(database: Database) -> list[Breach]:
    async with database.read() as session:
        moment = NOW + timedelta(days=1)
        found = await verify_ledger(session, now=moment)
        found += await verify_wallet(session, now=moment)
        found += await verify_paid(session)
        return found


async def events(database: Database, kind: str) -> list[dict[str, Any]]:
    async with database.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == kind).order_by(OutboxEvent.id)
        )
        return [dict(row) for row in rows]
