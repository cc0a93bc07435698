"""Campaigns in the program file: validated with every problem's path (``patron program
validate``), versioned and diffed by key (``patron program apply``), and left out of the stored
document of programs without them (their checksums stay what they were)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.programs import service as program_service
from patron.programs.document import document_of
from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from tests.campaigns.programs import with_campaigns
from tests.conftest import REPO, SEED_PROGRAM

runner = CliRunner()
EXAMPLE = REPO / "examples" / "campaigns-program.yaml"


def _problems(campaigns: str) -> list[str]:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(with_campaigns(campaigns))
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_the_example_is_valid_and_the_seed_document_is_unchanged() -> None:
    result = runner.invoke(app, ["program", "validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "campaigns" not in document_of(load_program(SEED_PROGRAM.read_text()))
    assert len(document_of(load_program(EXAMPLE.read_text()))["campaigns"]) == 16


def test_field_problems_come_with_their_paths() -> None:
    assert sorted(
        _problems(
            """
  - key: a
    name: {}
    window: {start: "2026-12-05", end: "2026-12-01"}
    effect: {bonus_points: 5}
    limits: {}
    budget: {points: 0}
    stacking: sometimes
  - key: b
    name: {en: B}
    window: {start: "2026-12-05T10:00+03:00", end: "2026-12-07"}
    effect: {bonus_points: 5}
"""
        )
    ) == sorted(
        [
            "campaigns[0].name: give the name in at least one of ru, pl, en",
            "campaigns[0].window.end: must be after start",
            "campaigns[0].stacking: must be 'exclusive', 'stackable', 'best_of' or 'priority'",
            "campaigns[0].limits: give per_member, total or both",
            "campaigns[0].budget.points: must be greater than 0",
            "campaigns[1].window.start: write the local time in the program's time zone, "
            "without an offset",
        ]
    )


def test_a_schedule_without_its_schedule_and_a_multiplier_below_one_are_refused() -> None:
    assert _problems(
        """
  - key: a
    name: {en: A}
    window: {start: "2026-12-01", end: "2026-12-01"}
    trigger: schedule
    effect: {multiply_order: 0.5}
"""
    ) == [
        "campaigns[0].schedule: give the schedule exactly when the trigger is schedule",
        "campaigns[0].effect.multiply_order: needs a purchase; a schedule campaign gives "
        "bonus_points",
        "campaigns[0].effect.multiply_order: a campaign's multiplier must be above 1 "
        "(it adds points; it never takes them away)",
    ]


def test_a_campaign_of_another_trigger_reads_no_purchase() -> None:
    assert _problems(
        """
  - key: a
    name: {en: A}
    window: {start: "2026-12-01", end: "2026-12-31"}
    trigger: birthday
    when: {order_total_gte: "10.00", tier_in: [gold]}
    effect: {multiply_order: 2}
    deferred: [{issue_reward: {reward: DISC10}}, {credit_wallet: {percent: "5"}}]
  - key: b
    name: {en: B}
    window: {start: "2026-12-01", end: "2026-12-31"}
    trigger: event
    occasion: {days: 2}
    effect: {bonus_points: 5}
  - key: c
    name: {en: C}
    window: {start: "2026-12-01", end: "2026-12-31"}
    event: app_install
    effect: {bonus_points: 5}
  - key: d
    name: {en: D}
    window: {start: "2026-12-01", end: "2026-12-31"}
    trigger: anniversary
    occasion: {days: 40, birth_date_unchanged_days: 10}
    effect: {bonus_points: 5}
  - key: e
    name: {en: E}
    window: {start: "2026-12-01", end: "2026-12-31"}
    trigger: event
    event: Social-Share
    effect: {bonus_points: 5}
"""
    ) == [
        "campaigns[0].when.order_total_gte: needs a purchase; the trigger is birthday",
        "campaigns[0].effect.multiply_order: needs a purchase; a birthday campaign gives "
        "bonus_points",
        "campaigns[0].deferred[1].credit_wallet.percent: needs a purchase; a birthday "
        "campaign credits an amount",
        "campaigns[1].event: give the custom event's type exactly when the trigger is event",
        "campaigns[1].occasion: only birthday and anniversary campaigns have one",
        "campaigns[2].event: give the custom event's type exactly when the trigger is event",
        "campaigns[3].occasion.days: must be less than or equal to 31",
        "campaigns[4].event: must match the pattern ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$",
    ]


def test_every_running_trigger_is_accepted() -> None:
    program = load_program(
        with_campaigns(
            """
  - key: welcome
    name: {en: Welcome}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: signup
    effect: {bonus_points: 100}
  - key: birthday
    name: {en: Birthday}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: birthday
    occasion: {days: 3, birth_date_unchanged_days: 60}
    audience: {tiers: [gold]}
    effect: {bonus_points: 500}
    limits: {per_member: 1, period: year}
  - key: anniversary
    name: {en: Anniversary}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: anniversary
    effect: {bonus_points: 300}
  - key: review
    name: {en: Review}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: review
    when: {tier_in: [silver, gold]}
    effect: {bonus_points: 20}
  - key: survey
    name: {en: Survey}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: survey
    effect: {bonus_points: 20}
  - key: share
    name: {en: Share}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: event
    event: social_share
    effect: {bonus_points: 50}
    limits: {per_member: 1, period: day}
"""
        )
    )
    found = {c.key: (c.trigger.value, c.window_days, c.unchanged_days) for c in program.campaigns}
    assert found == {
        "welcome": ("signup", 0, 30),
        "birthday": ("birthday", 3, 60),
        "anniversary": ("anniversary", 0, 30),
        "review": ("review", 0, 30),
        "survey": ("survey", 0, 30),
        "share": ("event", 0, 30),
    }
    document = document_of(program)["campaigns"]
    assert "event" not in document[0]
    assert "occasion" not in document[0]
    assert document[5]["event"] == "social_share"
    assert document[1]["occasion"] == {"days": 3, "birth_date_unchanged_days": 60}


def test_references_across_sections_are_checked() -> None:
    assert sorted(
        _problems(
            """
  - key: b
    name: {en: B}
    window: {start: "2026-12-05", end: "2026-12-07"}
    audience: {tiers: [platinum]}
    effect: {bonus_points: 5}
    when: {order_total_gte: "1.001", tier_in: [diamond]}
    deferred: [{issue_reward: {reward: NOPE}}]
  - key: b
    name: {en: B}
    window: {start: "2026-12-05 10:00", end: "2026-12-05 11:00"}
    effect: {bonus_points: 5}
"""
        )
    ) == sorted(
        [
            "campaigns[0].audience.tiers: names unknown tiers ['platinum']",
            "campaigns[0].when.tier_in: names unknown tiers ['diamond']",
            "campaigns[0].deferred[0].issue_reward.reward: 'NOPE' is not a reward code",
            "campaigns[0].when.order_total_gte: has more than 2 decimal places for RUB",
            "campaigns[1].key: campaign key 'b' is used twice",
        ]
    )


async def test_an_edit_is_a_new_version_whose_diff_names_the_campaign(database: Database) -> None:
    text = EXAMPLE.read_text()
    async with database.write() as session:
        first = await program_service.apply_program(session, text=text, created_by="test")
        edited = text.replace("    status: paused\n", "")
        second = await program_service.apply_program(session, text=edited, created_by="test")
    assert (first.version, second.version) == (1, 2)
    assert second.changes == ["campaigns[grand-opening].status: paused -> active"]


def test_a_budget_gives_points_money_or_both() -> None:
    campaign = """
  - key: a
    name: {en: A}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 1}
    budget: BUDGET
"""
    assert _problems(campaign.replace("BUDGET", "{alert_percent: 50}")) == [
        "campaigns[0].budget: give points, money or both"
    ]
    assert _problems(campaign.replace("BUDGET", '{money: "0.00"}')) == [
        "campaigns[0].budget.money: must be greater than 0"
    ]
    assert _problems(campaign.replace("BUDGET", '{money: "10.005"}')) == [
        "campaigns[0].budget.money: has more than 2 decimal places for RUB"
    ]
    for budget in ('{money: "500.00"}', '{points: 10, money: "500.00", alert_percent: 90}'):
        load_program(with_campaigns(campaign.replace("BUDGET", budget)))


def test_event_attribute_conditions_are_for_custom_events_only() -> None:
    assert _problems(
        """
  - key: a
    name: {en: A}
    window: {start: "2026-12-01", end: "2026-12-31"}
    when: {event_attribute_in: {platform: [ios]}}
    effect: {bonus_points: 5}
  - key: b
    name: {en: B}
    window: {start: "2026-12-01", end: "2026-12-31"}
    trigger: signup
    when: {event_attribute_in: {platform: [ios]}}
    effect: {bonus_points: 5}
  - key: c
    name: {en: C}
    window: {start: "2026-12-01", end: "2026-12-31"}
    trigger: event
    event: app_install
    when: {event_attribute_in: {platform: []}}
    effect: {bonus_points: 5}
  - key: d
    name: {en: D}
    window: {start: "2026-12-01", end: "2026-12-31"}
    trigger: event
    event: app_install
    when: {event_attribute_in: {platform: [ios, 2, true]}, tier_in: [gold]}
    effect: {bonus_points: 5}
"""
    ) == [
        "campaigns[0].when.event_attribute_in: needs a custom event; the trigger is purchase",
        "campaigns[1].when.event_attribute_in: needs a custom event; the trigger is signup",
        "campaigns[2].when.event_attribute_in.platform: must have at least 1 item",
    ]


def test_earn_rules_and_challenges_refuse_event_attribute_conditions() -> None:
    seed = SEED_PROGRAM.read_text()
    condition = '        order_total_gte: "10000.00"\n'
    assert condition in seed
    rule = seed.replace(condition, condition + "        event_attribute_in: {a: [1]}\n", 1)
    challenge = (
        seed
        + """
challenges:
  - key: c
    name: {en: C}
    goal: {count: 2, when: {event_attribute_in: {a: [1]}}}
    reward: {bonus_points: 5}
"""
    )
    found = []
    for text in (rule, challenge):
        with pytest.raises(ProgramInvalidError) as caught:
            load_program(text)
        found += [f"{p.path}: {p.message}" for p in caught.value.problems]
    assert found == [
        "earning.rules[1].when.event_attribute_in: needs a custom event; the trigger is purchase",
        "challenges[0].goal.when.event_attribute_in: needs a custom event; a goal counts purchases",
    ]
