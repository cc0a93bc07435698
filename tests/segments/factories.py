"""A small store history whose RFM scores, groups and segments are worked out by hand.

Ten members (m1..m10) with distinct recencies, tied frequencies and distinct monetary values,
one member without purchases (m11) and one purchase without a member. As of ``NOW``:

| member | days since last | purchases | spend (RUB) | R | F | M | segment | groups |
|---|---|---|---|---|---|---|---|---|
| m1 | 1 | 6 | 600.00 | 5 | 5 | 3 | champion | regular, coffee lover (1.0) |
| m2 | 3 | 1 | 5000.00 | 5 | 1 | 5 | new | high value, tea lover (0.6) |
| m3 | 5 | 4 | 1200.00 | 4 | 4 | 4 | loyal | regular, coffee lover (0.5, tie with tea) |
| m4 | 10 | 3 | 150.00 | 4 | 4 | 3 | loyal | coffee 0.4: no lover |
| m5 | 20 | 5 | 100.00 | 3 | 5 | 2 | loyal | regular, no category |
| m6 | 40 | 2 | 2000.00 | 3 | 3 | 4 | need_attention | snacks lover |
| m7 | 60 | 2 | 80.00 | 2 | 3 | 2 | at_risk | snacks lover |
| m8 | 90 | 1 | 70.00 | 2 | 1 | 1 | hibernating | snacks lover |
| m9 | 120 | 3 | 2700.00 | 1 | 4 | 5 | at_risk | high value, tea lover (5/9) |
| m10 | 150 | 1 | 30.00 | 1 | 1 | 1 | hibernating | snacks lover |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from patron.kit.db import Database
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate, PurchaseLineCreate
from tests.conftest import SEED_PROGRAM

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
Line = tuple[str | None, str]  # (category, unit price)


@dataclass(frozen=True)
class Visit:
    days_ago: int
    lines: tuple[Line, ...]


def visits(days: list[int], *lines: Line) -> list[Visit]:
    return [Visit(day, tuple(lines)) for day in days]


HISTORY: dict[str, list[Visit]] = {
    "m1": visits([1, 11, 21, 31, 41, 51], ("coffee", "100.00")),
    "m2": visits([3], ("tea", "3000.00"), ("coffee", "2000.00")),
    "m3": visits([5, 15, 35, 45], ("coffee", "150.00"), ("tea", "150.00")),
    "m4": visits([10, 100, 110], ("coffee", "20.00"), ("tea", "15.00"), ("snacks", "15.00")),
    "m5": visits([20, 25, 30, 35, 40], (None, "20.00")),
    "m6": visits([40, 50], ("snacks", "1000.00")),
    "m7": visits([60, 70], ("snacks", "40.00")),
    "m8": visits([90], ("snacks", "70.00")),
    "m9": visits([120, 200, 280], ("tea", "500.00"), (None, "400.00")),
    "m10": visits([150], ("snacks", "30.00")),
}
EXPECTED = {  # external id: (recency days, frequency, monetary, R, F, M, segment)
    "m1": (1, 6, 60000, 5, 5, 3, "champion"),
    "m2": (3, 1, 500000, 5, 1, 5, "new"),
    "m3": (5, 4, 120000, 4, 4, 4, "loyal"),
    "m4": (10, 3, 15000, 4, 4, 3, "loyal"),
    "m5": (20, 5, 10000, 3, 5, 2, "loyal"),
    "m6": (40, 2, 200000, 3, 3, 4, "need_attention"),
    "m7": (60, 2, 8000, 2, 3, 2, "at_risk"),
    "m8": (90, 1, 7000, 2, 1, 1, "hibernating"),
    "m9": (120, 3, 270000, 1, 4, 5, "at_risk"),
    "m10": (150, 1, 3000, 1, 1, 1, "hibernating"),
}
GROUPS = {  # external id: (high value, regular, category lover, favourite, share)
    "m1": (False, True, True, "coffee", 1.0),
    "m2": (True, False, True, "tea", 0.6),
    "m3": (False, True, True, "coffee", 0.5),
    "m4": (False, False, False, "coffee", 0.4),
    "m5": (False, True, False, None, None),
    "m6": (False, False, True, "snacks", 1.0),
    "m7": (False, False, True, "snacks", 1.0),
    "m8": (False, False, True, "snacks", 1.0),
    "m9": (True, False, True, "tea", 5 / 9),
    "m10": (False, False, True, "snacks", 1.0),
}


def total_of(lines: tuple[Line, ...]) -> str:
    cents = sum(int(price.replace(".", "")) for _category, price in lines)
    return f"{cents // 100}.{cents % 100:02d}"


async def build_store(database: Database, *, key: str = "default") -> dict[str, int]:
    """Apply the seed program, enrol m1..m11, record every visit through the real services;
    returns the member ids by external id."""
    ids: dict[str, int] = {}
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), key=key, created_by="tests", now=NOW
        )
        active = await program_service.get_active_program(session, key=key)
        start = NOW - timedelta(days=400)
        for external_id in [*HISTORY, "m11"]:
            member = await member_service.enrol_member(
                session,
                program_id=active.program_id,
                data=MemberCreate(external_id=external_id),
                now=start,
            )
            ids[external_id] = member.id
        for external_id, member_visits in HISTORY.items():
            for index, visit in enumerate(member_visits):
                await record_purchase(
                    session,
                    active=active,
                    data=purchase(f"{external_id}-{index}", ids[external_id], visit),
                    now=NOW,
                )
        anonymous = Visit(2, (("coffee", "99.00"),))
        await record_purchase(
            session, active=active, data=purchase("anonymous", None, anonymous), now=NOW
        )
    return ids


def purchase(external_id: str, member_id: int | None, visit: Visit) -> PurchaseCreate:
    return PurchaseCreate(
        external_id=external_id,
        member_id=member_id,
        occurred_at=NOW - timedelta(days=visit.days_ago, hours=2),
        currency="RUB",
        total=total_of(visit.lines),
        lines=[
            PurchaseLineCreate(sku=f"sku-{number}", category=category, quantity=1, unit_price=price)
            for number, (category, price) in enumerate(visit.lines)
        ],
    )
