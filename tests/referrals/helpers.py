"""Shared setup of the referral tests: the seed program (RUB, 14 pending days) with a
``referrals`` section and a referral campaign, and helpers through the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.kit.time import utcnow
from patron.ledger.models import LedgerEntry
from patron.referrals import schemas
from patron.referrals.models import Referral
from tests.api.conftest import Api
from tests.conftest import SEED_PROGRAM

REFERRALS = """
referrals:
  referrer: {points: 500}
  referee: {points: 300, reward: FREESHIP}
  min_purchase: "1000.00"
  max_per_day: 3
  link: "https://shop.example/join?ref={code}"
"""
CAMPAIGN = """
campaigns:
  - key: refer-bonus
    name: {en: "Refer a friend bonus"}
    window: {start: "2026-01-01", end: "2030-12-31"}
    trigger: referral
    effect: {bonus_points: 100}
    limits: {per_member: 5, period: month}
    budget: {points: 100000}
"""


def program_text(referrals: str = REFERRALS, campaigns: str = CAMPAIGN) -> str:
    return SEED_PROGRAM.read_text() + referrals + campaigns


async def apply(api: Api, text: str | None = None) -> None:
    response = await api.call("PUT", "/program", content=(text or program_text()).encode())
    assert response.status_code == 200, response.text


async def enrol(api: Api, external_id: str, **fields: Any) -> dict[str, Any]:
    response = await api.call(
        "POST", "/members", "pos", json={"external_id": external_id, **fields}
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def code_of(api: Api, member_id: int) -> str:
    response = await api.call("GET", f"/members/{member_id}/referral", "staff")
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


async def buy(api: Api, member_id: int, rubles: int, *, at: datetime | None = None) -> int:
    at = at or utcnow() - timedelta(hours=1)
    body = {
        "external_id": f"order-{member_id}-{rubles}-{at.timestamp()}",
        "member_id": member_id,
        "occurred_at": at.isoformat(),
        "currency": "RUB",
        "total": f"{rubles}.00",
        "lines": [{"sku": "tea", "category": "tea", "quantity": 1, "unit_price": f"{rubles}.00"}],
    }
    response = await api.call("POST", "/purchases", "admin", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def referrals(database: Database) -> list[schemas.Referral]:
    async with database.read() as session:
        rows = await session.scalars(select(Referral).order_by(Referral.id))
        return [schemas.Referral.model_validate(row) for row in rows]


async def referral_credits(database: Database) -> list[tuple[int, int, str]]:
    """(member, points, source) of every credit of a referral: its own and its campaigns'."""
    async with database.read() as session:
        rows = await session.execute(
            select(LedgerEntry.member_id, LedgerEntry.amount, LedgerEntry.source_type)
            .where(LedgerEntry.source_type.in_(["referral", "campaign"]))
            .order_by(LedgerEntry.id)
        )
        return [(member, amount, source) for member, amount, source in rows.all()]


async def event_count(database: Database, event_type: str) -> int:
    async with database.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == event_type)
        )
        return int(count or 0)
