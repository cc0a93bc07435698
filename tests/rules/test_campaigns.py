"""Purchase campaigns, pure (:mod:`patron.rules.campaigns`): window and status in the program's
time zone, audience, conditions, per-member limits, each campaign's own points, and the
stacking policies."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from patron.programs.loader import load_program
from patron.programs.schema import Program
from patron.rules.campaigns import campaign_hints, check_campaigns, select, with_usage
from patron.rules.context import LineContext, PurchaseContext
from patron.rules.vocabulary import CampaignStatus
from tests.campaigns.programs import TUESDAY, with_campaigns

TEA = LineContext(sku="t", category="tea", quantity=1, unit_price=700_00)
COFFEE = LineContext(sku="c", category="coffee", quantity=1, unit_price=500_00)


def _program(campaigns: str) -> Program:
    return load_program(with_campaigns(campaigns))


def _context(
    at: datetime = TUESDAY,
    tier: str | None = "silver",
    lines: tuple[LineContext, ...] = (TEA, COFFEE),
) -> PurchaseContext:
    total = sum(line.net for line in lines)
    return PurchaseContext(occurred_at=at, lines=lines, total=total, tier_id=tier)


def _checks(
    program: Program,
    context: PurchaseContext,
    usage: dict[str, int] | None = None,
    member: bool = True,
):  # type: ignore[no-untyped-def]
    return check_campaigns(
        program, program.campaigns, context, has_member=member, language="en", usage=usage or {}
    )


KINDS = """
  - key: lines
    name: {en: "Triple tea"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    when: {line_category_in: [tea]}
    effect: {multiply_lines: 3}
  - key: order
    name: {en: "Double order"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {multiply_order: 1.5}
  - key: bonus
    name: {en: "Bonus", ru: "Бонус"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 100}
"""


def test_each_campaign_adds_its_own_points_on_the_base_rate() -> None:
    program = _program(KINDS)
    checks = {check.key: check for check in _checks(program, _context())}
    # 100 points per 1,000.00: tea 700.00 x (3 - 1) -> 140; the order 1200.00 x 0.5 -> 60
    assert {key: check.points for key, check in checks.items()} == {
        "lines": 140,
        "order": 60,
        "bonus": 100,
    }
    selection = select(list(checks.values()), {})
    assert selection.points == 300
    rows = selection.rows(list(checks.values()))
    assert [(row["rule_id"], row["applied"], row["points"]) for row in rows] == [
        ("campaign:lines", True, 140),
        ("campaign:order", True, 60),
        ("campaign:bonus", True, 100),
    ]


def test_the_window_is_read_in_the_programs_time_zone() -> None:
    program = _program(
        """
  - key: night
    name: {en: Night}
    window: {start: "2026-12-08 00:00", end: "2026-12-08"}
    effect: {bonus_points: 5}
"""
    )
    campaign = program.campaigns[0]
    zone = program.program.timezone  # Europe/Moscow, UTC+3
    assert campaign.status_at(datetime(2026, 12, 7, 20, 59, tzinfo=UTC), zone) is (
        CampaignStatus.SCHEDULED
    )
    assert campaign.status_at(datetime(2026, 12, 7, 21, 0, tzinfo=UTC), zone) is (
        CampaignStatus.ACTIVE
    )
    # a date as the end includes that whole local day
    assert campaign.status_at(datetime(2026, 12, 8, 20, 59, tzinfo=UTC), zone) is (
        CampaignStatus.ACTIVE
    )
    assert campaign.status_at(datetime(2026, 12, 8, 21, 0, tzinfo=UTC), zone) is (
        CampaignStatus.ENDED
    )
    assert _checks(program, _context(at=datetime(2026, 12, 8, 21, 0, tzinfo=UTC))) == []


@pytest.mark.parametrize("status", ["draft", "paused", "ended"])
def test_draft_paused_and_ended_campaigns_do_not_run(status: str) -> None:
    program = _program(
        KINDS.replace(
            "effect: {bonus_points: 100}", f"effect: {{bonus_points: 100}}\n    status: {status}"
        )
    )
    assert [check.key for check in _checks(program, _context())] == ["lines", "order"]


def test_audience_conditions_and_the_per_member_limit_give_reasons() -> None:
    program = _program(
        """
  - key: gold-only
    name: {en: Gold}
    window: {start: "2026-12-01", end: "2026-12-31"}
    audience: {tiers: [gold]}
    effect: {bonus_points: 5}
  - key: big
    name: {en: Big}
    window: {start: "2026-12-01", end: "2026-12-31"}
    when: {order_total_gte: "5000.00"}
    effect: {bonus_points: 5}
  - key: weekly
    name: {en: Weekly}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 5}
    limits: {per_member: 2, period: week}
"""
    )
    checks = _checks(program, _context(), usage={"weekly": 2})
    assert [(c.key, c.reason) for c in checks] == [
        ("gold-only", "not in the audience: the member's tier is not gold"),
        ("big", "conditions not met: order_total_gte"),
        ("weekly", "limit reached: already applied 2 of 2 times per week"),
    ]
    assert checks[2].period_key == "2026-W50"
    selection = select(checks, {})
    assert selection.applied == ()
    # only the limited campaign gets a row: it matched and was held back
    assert [row["rule_id"] for row in selection.rows(checks)] == ["campaign:weekly"]
    anonymous = _checks(program, _context(), member=False)
    assert all(c.reason and c.reason.startswith("not in the audience") for c in anonymous)


STACKING = """
  - key: a-best
    name: {en: A}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 50}
    stacking: best_of
  - key: b-best
    name: {en: B}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 80}
    stacking: best_of
  - key: c-first
    name: {en: C}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 10}
    stacking: priority
    priority: 5
  - key: d-second
    name: {en: D}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 20}
    stacking: priority
  - key: e-stack
    name: {en: E}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 1}
"""


def test_best_of_keeps_the_most_points_and_priority_the_first() -> None:
    program = _program(STACKING)
    checks = _checks(program, _context())
    assert [c.key for c in checks] == ["c-first", "a-best", "b-best", "d-second", "e-stack"]
    selection = select(checks, {})
    assert [c.key for c in selection.applied] == ["c-first", "b-best", "e-stack"]
    assert selection.points == 91
    assert dict((c.key, why) for c, why in selection.skipped) == {
        "a-best": "best_of: the campaign 'b-best' adds more",
        "d-second": "priority: the campaign 'c-first' comes first",
    }
    # a refused winner (its budget used up) lets the next one in
    again = select(checks, {"b-best": "budget used up"})
    assert [c.key for c in again.applied] == ["c-first", "a-best", "e-stack"]
    assert ("b-best", "budget used up") in [(c.key, why) for c, why in again.skipped]


def test_an_exclusive_campaign_applies_alone() -> None:
    program = _program(
        STACKING
        + """
  - key: z-alone
    name: {en: Z}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 3}
    stacking: exclusive
"""
    )
    checks = _checks(program, _context())
    selection = select(checks, {})
    assert [c.key for c in selection.applied] == ["z-alone"]
    assert {why for _, why in selection.skipped} == {
        "excluded: the exclusive campaign 'z-alone' applied"
    }
    rows = selection.rows(checks)
    assert sum(row["points"] for row in rows) == 3


def test_a_date_window_keeps_its_written_form() -> None:
    program = _program(BONUS_WINDOW)
    assert program.campaigns[0].window.start == date(2026, 12, 1)
    assert program.campaigns[0].window.end == datetime(2026, 12, 31, 18, 0)


BONUS_WINDOW = """
  - key: w
    name: {en: W}
    window: {start: "2026-12-01", end: "2026-12-31 18:00"}
    effect: {bonus_points: 5}
"""


def test_usage_folded_in_later_equals_usage_checked_at_once() -> None:
    program = _program(
        KINDS.replace(
            "effect: {bonus_points: 100}",
            "effect: {bonus_points: 100}\n    limits: {per_member: 2}",
        )
    )
    for used in (0, 1, 2, 3):
        usage = {"bonus": used}
        assert with_usage(_checks(program, _context()), usage) == _checks(
            program, _context(), usage=usage
        )


def test_hints_name_campaigns_that_almost_applied() -> None:
    program = _program(
        """
  - key: big
    name: {en: "Big basket"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    when: {order_total_gte: "5000.00"}
    effect: {bonus_points: 300}
  - key: cakes
    name: {en: "Cake day"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    when: {line_category_in: [cakes]}
    effect: {multiply_lines: 2}
  - key: both
    name: {en: "Both"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    when: {order_total_gte: "5000.00", line_category_in: [cakes]}
    effect: {bonus_points: 1}
  - key: gold
    name: {en: "Gold"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    audience: {tiers: [gold]}
    when: {order_total_gte: "5000.00"}
    effect: {bonus_points: 1}
"""
    )
    context = _context()  # 1,200.00 of tea and coffee, a Silver member
    found = campaign_hints(program, _checks(program, context), context)
    assert [h.to_dict() for h in found] == [
        {
            "kind": "spend_more",
            "rule_id": "campaign:big",
            "rule_name": "Big basket",
            "effect": "bonus_points",
            "value": "300",
            "missing_amount": 3800_00,
            "categories": [],
            "skus": [],
        },
        {
            "kind": "add_item",
            "rule_id": "campaign:cakes",
            "rule_name": "Cake day",
            "effect": "multiply_lines",
            "value": "2",
            "missing_amount": None,
            "categories": ["cakes"],
            "skus": [],
        },
    ]
