"""Campaign audiences beyond tiers: new members (enrolled within N days of the trigger's
moment), exact values of the member's free attributes, and segments and flags on triggers
other than a purchase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patron.kit.db import Database
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.rules.club import check_campaign_audience
from patron.rules.vocabulary.audience import MemberFacts
from patron.rules.vocabulary.campaigns import Audience
from patron.worker.campaigns import run_schedule_campaigns
from tests.campaigns.programs import with_campaigns
from tests.campaigns.triggers import NOW, active, apply_program, awards

MOMENT = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


def _check(audience: dict[str, object], facts: MemberFacts) -> tuple[bool, str, dict[str, object]]:
    found = check_campaign_audience(Audience.model_validate(audience), facts, MOMENT)
    return found.eligible, found.code, found.params


def test_new_members_are_those_enrolled_within_the_days_before_the_moment() -> None:
    audience = {"new_members": {"days": 30}}
    recent = MemberFacts(enrolled_at=MOMENT - timedelta(days=30))
    assert _check(audience, recent) == (
        True,
        "in_audience",
        {"enrolled_at": recent.enrolled_at.isoformat()},  # type: ignore[union-attr]
    )
    old = MemberFacts(enrolled_at=MOMENT - timedelta(days=30, seconds=1))
    assert _check(audience, old) == (
        False,
        "not_new_member",
        {"days": 30, "enrolled_at": (MOMENT - timedelta(days=30, seconds=1)).isoformat()},
    )
    later = MemberFacts(enrolled_at=MOMENT + timedelta(seconds=1))  # not a member yet then
    assert _check(audience, later)[1] == "not_new_member"


def test_attributes_match_one_of_the_listed_values_exactly() -> None:
    audience = {"attributes": {"city": ["Warsaw", "Kraków"], "kids": [2, 3]}}
    member = MemberFacts(attributes={"city": "Kraków", "kids": 2})
    assert _check(audience, member) == (
        True,
        "in_audience",
        {"attributes": {"city": "Kraków", "kids": 2}},
    )
    for attributes, name, value in [
        ({"city": "warsaw", "kids": 2}, "city", "warsaw"),  # case counts
        ({"city": "Warsaw", "kids": "2"}, "kids", "2"),  # text is not a number
        ({"city": "Warsaw"}, "kids", None),  # missing
    ]:
        eligible, code, params = _check(audience, MemberFacts(attributes=attributes))
        assert (eligible, code) == (False, "attribute_not_in_audience")
        assert params["attribute"] == name
        assert params["value"] == value
    flags = {"attributes": {"vip": [True]}}
    assert not _check(flags, MemberFacts(attributes={"vip": 1}))[0]  # 1 is not true
    assert _check(flags, MemberFacts(attributes={"vip": True}))[0]


def test_every_kind_written_must_hold() -> None:
    audience = {"tiers": ["gold"], "new_members": {"days": 7}, "attributes": {"city": ["Łódź"]}}
    member = MemberFacts(tier_id="silver", attributes={"city": "Łódź"}, enrolled_at=MOMENT)
    assert _check(audience, member)[1] == "tier_not_in_audience"
    assert _check({}, member) == (True, "everyone", {})


def _problems(campaigns: str) -> list[tuple[str, str]]:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(with_campaigns(campaigns))
    return [(p.path, p.code) for p in caught.value.problems]


def test_bad_audiences_are_refused_with_codes() -> None:
    problems = _problems(
        """
  - key: a
    name: {en: A}
    window: {start: "2026-12-01", end: "2026-12-31"}
    trigger: signup
    audience: {new_members: {days: 0}, attributes: {city: []}}
    effect: {bonus_points: 1}
  - key: b
    name: {en: B}
    window: {start: "2026-12-01", end: "2026-12-31"}
    audience: {new_members: {weeks: 2}, attributes: {city: [{x: 1}]}}
    effect: {bonus_points: 1}
"""
    )
    assert ("campaigns[0].audience.new_members.days", "greater_than_equal") in problems
    assert ("campaigns[0].audience.attributes.city", "too_few_items") in problems
    assert ("campaigns[1].audience.new_members.weeks", "unknown_field") in problems
    assert any(path.startswith("campaigns[1].audience.attributes.city[0]") for path, _ in problems)


AUDIENCES = """
  - key: warsaw-newcomers
    name: {en: Warsaw newcomers}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: schedule
    schedule: {every: day, at: "09:00"}
    audience: {new_members: {days: 30}, attributes: {city: [Warsaw, Kraków]}}
    effect: {bonus_points: 40}
  - key: vip-signup
    name: {en: VIP welcome}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: schedule
    schedule: {every: day, at: "09:00"}
    audience: {flags: [vip]}
    effect: {bonus_points: 7}
  - key: newcomer-purchase
    name: {en: Newcomer purchase}
    window: {start: "2026-12-01", end: "2027-12-31"}
    audience: {new_members: {days: 30}}
    effect: {bonus_points: 15}
"""


async def _enrol(
    database: Database, program_id: int, external_id: str, days_ago: int, **attributes: object
) -> int:
    async with database.write() as session:
        member = await member_service.enrol_member(
            session,
            program_id=program_id,
            data=MemberCreate(external_id=external_id, attributes=attributes),
            now=NOW - timedelta(days=days_ago),
        )
    return member.id


async def test_audiences_on_a_schedule_and_on_a_purchase(database: Database) -> None:
    program_id = await apply_program(database, AUDIENCES)
    new_warsaw = await _enrol(database, program_id, "nw", 3, city="Warsaw", vip=True)
    await _enrol(database, program_id, "old-warsaw", 90, city="Warsaw")
    await _enrol(database, program_id, "new-lodz", 3, city="Łódź", vip="true")
    report = await run_schedule_campaigns(database, key="default", now=NOW)
    assert report.members_due == 3
    assert sorted(await awards(database)) == [
        (new_warsaw, "vip-signup", "schedule:2026-12-08", 7),
        (new_warsaw, "warsaw-newcomers", "schedule:2026-12-08", 40),
    ]
    program = await active(database)
    points = {}
    for external_id in ("nw", "old-warsaw"):
        async with database.write() as session:
            recorded = await record_purchase(
                session,
                active=program,
                data=PurchaseCreate.model_validate(
                    {
                        "external_id": f"p-{external_id}",
                        "member_external_id": external_id,
                        "occurred_at": NOW.isoformat(),
                        "currency": "RUB",
                        "total": "1000.00",
                        "lines": [
                            {"sku": "t", "category": "tea", "quantity": 1, "unit_price": "1000.00"}
                        ],
                    }
                ),
                now=NOW,
            )
        points[external_id] = {
            row.rule_id: row.points
            for row in recorded.purchase.breakdown
            if row.rule_id.startswith("campaign:")
        }
    assert points == {"nw": {"campaign:newcomer-purchase": 15}, "old-warsaw": {}}
