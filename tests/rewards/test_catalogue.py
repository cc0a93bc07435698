"""The catalogue: program rewards with stock, tier and affordability."""

from __future__ import annotations

from patron.kit.db import Database
from patron.members import service as member_service
from patron.programs.schema import RewardKind
from patron.programs.schemas import ActiveProgram
from patron.rewards.schemas import Unavailability
from patron.rewards.service import list_rewards, redeem
from tests.rewards.factories import NOW, earn_tier, enrol, member_with_points

OUT = Unavailability.OUT_OF_STOCK
TIER = Unavailability.TIER_REQUIRED
POINTS = Unavailability.INSUFFICIENT_POINTS


async def test_the_catalogue_without_a_member(database: Database, active: ActiveProgram) -> None:
    async with database.read() as session:
        items = await list_rewards(session, active=active)
    assert [
        (item.code, item.kind, item.value, item.cost_points, item.stock, item.remaining)
        for item in items
    ] == [
        ("DISC10", RewardKind.PERCENT_DISCOUNT, 10, 100, None, None),
        ("FREESHIP", RewardKind.FREE_SHIPPING, None, 100, None, None),
        ("GIFT500", RewardKind.GIFT_CERTIFICATE, 50000, 1000, None, None),
        ("GOLD-PREVIEW", RewardKind.EXCLUSIVE_ACCESS, None, 0, None, None),
        ("LIMITED", RewardKind.FIXED_DISCOUNT, 20000, 50, 2, 2),
        ("FREE-COFFEE", RewardKind.FREE_PRODUCT, None, 300, None, None),
        ("MUG", RewardKind.FREE_PRODUCT, None, 300, None, None),
    ]
    assert all(item.available and item.reasons == [] for item in items)
    assert {item.currency for item in items} == {"RUB"}
    assert items[3].min_tier == "gold"
    # as written; never (valid_days: never); the program's default when the reward names none
    assert [item.valid_days for item in items if item.code in ("DISC10", "FREE-COFFEE", "MUG")] == [
        30,
        None,
        365,
    ]


async def test_the_catalogue_for_a_member(database: Database, active: ActiveProgram) -> None:
    poor = await member_with_points(database, active=active, external_id="poor", points=120)
    for external_id in ("rich-1", "rich-2"):
        rich = await member_with_points(
            database, active=active, external_id=external_id, points=100
        )
        async with database.write() as session:
            await redeem(session, active=active, member_id=rich.id, reward_code="LIMITED", now=NOW)
    async with database.read() as session:
        items = await list_rewards(session, active=active, member=poor, now=NOW)
    assert {item.code: item.reasons for item in items} == {
        "DISC10": [],
        "FREESHIP": [],
        "GIFT500": [POINTS],
        "GOLD-PREVIEW": [TIER],
        "LIMITED": [OUT],
        "FREE-COFFEE": [POINTS],
        "MUG": [POINTS],
    }
    assert [item.code for item in items if item.available] == ["DISC10", "FREESHIP"]
    assert next(item for item in items if item.code == "LIMITED").remaining == 0


async def test_a_gold_member_sees_the_gold_reward(
    database: Database, active: ActiveProgram
) -> None:
    async with database.write() as session:
        gold = await enrol(session, active=active, external_id="gold")
        await earn_tier(session, active=active, member_id=gold.id, points=15000)
    async with database.read() as session:
        member = await member_service.get_member(session, member_id=gold.id)
        items = await list_rewards(session, active=active, member=member, now=NOW)
    assert member.tier_id == "gold"
    assert all(item.available for item in items)
