"""Program texts for the campaign tests: the seed program with campaigns appended."""

from __future__ import annotations

from datetime import UTC, datetime

from patron.kit.db import Database
from patron.programs import service as program_service
from patron.purchases.earn import RecordedPurchase, record_purchase
from patron.purchases.schemas import PurchaseCreate
from tests.conftest import REPO, SEED_PROGRAM

# Tuesday 8 December 2026, 13:00 in Moscow
TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


def with_campaigns(campaigns: str) -> str:
    """The seed program (RUB, Europe/Moscow, 100 points per 1,000.00) and ``campaigns``."""
    return SEED_PROGRAM.read_text() + "\ncampaigns:\n" + campaigns


def messages_example() -> str:
    """The seed program with the example of docs/campaigns.md, "Messages to members" (its
    campaigns and its ``messages:``)."""
    doc = (REPO / "docs" / "campaigns.md").read_text()
    section = doc[doc.index("## Messages to members") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    return SEED_PROGRAM.read_text() + "\n" + section[start : section.index("```\n", start)]


BONUS = """
  - key: bonus
    name: {en: "December bonus", ru: "Декабрьский бонус"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 100}
"""


async def buy_tea(
    database: Database,
    external_id: str,
    member: str,
    total: str,
    *,
    occurred_at: datetime,
    now: datetime,
) -> RecordedPurchase:
    """A member's purchase of one tea line of ``total`` (RUB) under the active program."""
    data = PurchaseCreate.model_validate(
        {
            "external_id": external_id,
            "member_external_id": member,
            "occurred_at": occurred_at.isoformat(),
            "currency": "RUB",
            "total": total,
            "lines": [{"sku": "t", "category": "tea", "quantity": 1, "unit_price": total}],
        }
    )
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        return await record_purchase(session, active=active, data=data, now=now)
