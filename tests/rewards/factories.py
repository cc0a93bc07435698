"""Set-up through the real services of the other domains: program, members, points, tiers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.models import Lot
from patron.members import service as member_service
from patron.members.schemas import Member, MemberCreate
from patron.programs import service as program_service
from patron.programs.expiry import expiry_for
from patron.programs.schemas import ActiveProgram
from patron.rewards.models import Coupon, RewardStock
from patron.tiers import service as tiers_service

SEED_PROGRAM = Path(__file__).resolve().parents[2] / "examples" / "seed-program.yaml"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Added to the seed program's catalogue for the tests of stock and free products.
EXTRA_REWARDS: list[dict[str, Any]] = [
    {
        "code": "LIMITED",
        "name": "200 RUB off, only two",
        "kind": "fixed_discount",
        "value": "200.00",
        "cost_points": 50,
        "stock": 2,
        "valid_days": 7,
    },
    {
        "code": "FREE-COFFEE",
        "name": "A free bag of coffee",
        "kind": "free_product",
        "sku": "COFFEE-250",
        "cost_points": 300,
        "valid_days": "never",
    },
    {
        "code": "MUG",
        "name": "A mug",
        "kind": "free_product",
        "sku": "MUG-1",
        "cost_points": 300,
    },
]


def program_text(extra: list[dict[str, Any]] | None = None) -> str:
    """The seed program, with ``extra`` rewards appended to its catalogue."""
    document = yaml.safe_load(SEED_PROGRAM.read_text(encoding="utf-8"))
    document["rewards"].extend(EXTRA_REWARDS if extra is None else extra)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


async def apply_test_program(session: AsyncSession, *, text: str | None = None) -> ActiveProgram:
    await program_service.apply_program(
        session, text=text or program_text(), created_by="tests", now=NOW
    )
    return await program_service.get_active_program(session)


async def enrol(session: AsyncSession, *, active: ActiveProgram, external_id: str) -> Member:
    """A member with an open, empty points account."""
    member = await member_service.enrol_member(
        session,
        program_id=active.program_id,
        data=MemberCreate(external_id=external_id),
        now=NOW,
    )
    await ledger_service.open_account(session, member_id=member.id, now=NOW)
    return member


async def give_points(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    amount: int,
    key: str,
    now: datetime = NOW,
) -> None:
    """Earned points, available at once, expiring per the program."""
    await ledger_service.credit(
        session,
        member_id=member_id,
        amount=amount,
        kind=EntryKind.EARN,
        idempotency_key=f"test:{key}",
        source_type="test",
        source_id=key,
        now=now,
        expires_at=expiry_for(active.program, now),
    )


async def earn_tier(
    session: AsyncSession, *, active: ActiveProgram, member_id: int, points: int
) -> str | None:
    """Earn ``points`` and let the tiers service upgrade the member; the tier reached."""
    await give_points(
        session, active=active, member_id=member_id, amount=points, key=f"tier-{member_id}"
    )
    change = await tiers_service.upgrade_if_qualified(
        session, program=active.program, member_id=member_id, current_tier=None, now=NOW
    )
    return None if change is None else change.to_tier


async def member_with_points(
    database: Database, *, active: ActiveProgram, external_id: str, points: int
) -> Member:
    async with database.write() as session:
        member = await enrol(session, active=active, external_id=external_id)
        if points:
            await give_points(
                session, active=active, member_id=member.id, amount=points, key=external_id
            )
    return member


async def snapshot(database: Database, member_id: int) -> dict[str, Any]:
    """Everything a redemption could change for one member, to prove that nothing did."""
    async with database.read() as session:
        balance = await ledger_service.balance(session, member_id=member_id, now=NOW)
        page = await ledger_service.entries(session, member_id=member_id, limit=500)
        lots = await session.execute(
            select(Lot.id, Lot.remaining, Lot.expires_at).where(Lot.member_id == member_id)
        )
        stocks = await session.execute(
            select(RewardStock.program_id, RewardStock.reward_code, RewardStock.issued)
        )
        coupons = await session.execute(select(func.count()).select_from(Coupon))
        return {
            "balance": balance.model_dump(),
            "entries": [entry.model_dump() for entry in page.items],
            "lots": sorted(tuple(row) for row in lots),
            "stocks": sorted(tuple(row) for row in stocks),
            "coupons": coupons.scalar_one(),
        }
