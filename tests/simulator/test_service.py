"""Exact figures of small hand-built histories (every number below is worked out in the
comments), through :func:`patron.simulator.service.simulate_history`."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest

from patron.programs.loader import load_program
from patron.simulator.errors import SimulationInputError
from patron.simulator.history import history_from_file
from patron.simulator.replay import replay
from patron.simulator.service import simulate_history
from tests.conftest import SEED_PROGRAM
from tests.simulator.factories import (
    WELCOME_PROGRAM,
    monthly_history,
    monthly_program,
    purchase_rows,
    seed_history,
    write_history,
)

SEED = load_program(SEED_PROGRAM.read_text())


def test_seed_program_points_expiry_tiers_and_money(tmp_path: Path) -> None:
    report = simulate_history(
        seed_history(tmp_path / "h.csv"), program=SEED, redemption_rate=Fraction(1, 2)
    )
    run = report.proposed
    # o-1: 120,000.00 RUB of beans = 12,000 points + the big-basket bonus 500 = 12,500: Silver.
    # o-2 (the program file's example): (500 x 2 + 700) x 100 / 1000 x 1.25 = 212.5 -> 212.
    # o-3 (docs/import.md's example): 2,200.00 RUB, coffee counted twice -> 220, no tier.
    # o-4 has no member; o-5: 100.00 RUB of tea -> 10 points.
    assert run.totals.points_issued == 12_500 + 212 + 220 + 10
    assert (report.purchases, run.totals.purchases, run.totals.members) == (5, 4, 2)
    assert [m.month for m in run.months] == ["2026-12", *[f"2027-{n:02d}" for n in range(1, 13)],
                                             "2028-01"]  # fmt: skip
    december, january = run.months[0], run.months[1]
    assert december.end == datetime(2026, 12, 31, 21, tzinfo=UTC)  # Moscow midnight
    # o-3 unlocks 14 days later, on 2027-01-01 10:00 UTC: still pending at the end of December
    assert (december.points_issued, december.points_pending, december.points_available) == (
        12_932,
        220,
        12_712,
    )
    assert december.tiers == {"none": 1, "bronze": 0, "silver": 1, "gold": 0}
    assert (january.points_pending, january.points_available) == (0, 12_932)
    november = run.months[11]
    assert november.month == "2027-11"
    assert november.tiers["silver"] == 1  # the rolling year still holds o-1 and o-2
    # o-1 and o-2 expire 12 months after unlocking (2027-12-15 and -22); o-3 on 2028-01-01
    december_2027, last = run.months[12], run.months[13]
    assert (december_2027.points_expired, december_2027.points_available) == (12_712, 220)
    assert december_2027.tiers == {"none": 2, "bronze": 0, "silver": 0, "gold": 0}
    assert (last.points_issued, last.points_expired, last.points_available) == (10, 220, 10)
    assert (run.totals.points_expired, run.totals.points_outstanding) == (12_932, 10)
    assert run.totals.points_expiring_later == 10
    # A point: DISC10 is 10 % of the average member basket (12,300,000 / 4 = 3,075,000 minor)
    # for 100 points = 3,075; FREESHIP 0 (no member paid shipping); GIFT500 50,000 / 1,000 =
    # 50; GOLD-PREVIEW costs no points. Equal weights: 3,125 / 3 minor units a point.
    assert run.value_per_point == "1041.6667"
    assert [(r.code, r.value) for r in run.rewards] == [
        ("DISC10", 307_500),
        ("FREESHIP", 0),
        ("GIFT500", 50_000),
    ]
    assert run.totals.expected_redeemed_points == 6_471  # 12,942 / 2
    assert run.totals.expected_breakage_points == 6_471
    assert run.totals.expected_redemption_cost == 6_740_625  # 6,471 x 3,125 / 3
    assert run.totals.liability == 5_208  # 10 / 2 x 3,125 / 3 = 5,208.33
    assert december.liability == 6_735_417  # 12,932 / 2 x 3,125 / 3 = 6,735,416.67
    assert report.redemption_rate == "0.5000"
    assert report.redemption_rate_source == "option"


def test_tier_transitions_limits_and_month_end_review(tmp_path: Path) -> None:
    report = simulate_history(
        monthly_history(tmp_path / "h.csv"), program=load_program(monthly_program())
    )
    run = report.proposed
    # Jan 10: 60 + bonus 10 = 70; Jan 20: 40 + 10 = 50, 120 in the month: Silver at once;
    # Jan 25: 10 x 2 = 20 (the bonus's two uses of January are spent); Feb 3: 20 + 10 = 30.
    # Review at the end of February: 30 points since Feb 1 < 100: no tier. Mar 5: 10 + 10.
    assert [m.points_issued for m in run.months] == [140, 30, 20]
    assert [m.tiers for m in run.months] == [
        {"none": 0, "silver": 1},
        {"none": 1, "silver": 0},
        {"none": 1, "silver": 0},
    ]
    assert [m.points_available for m in run.months] == [140, 170, 190]
    assert run.totals.points_expired == 0
    # 100 points buy a 10.00 PLN gift: 10 minor units a point; the default rate is 0.7
    assert (run.value_per_point, report.redemption_rate) == ("10.0000", "0.7000")
    assert run.totals.expected_redeemed_points == 133  # 190 x 0.7
    assert run.totals.expected_redemption_cost == 1_330
    assert run.totals.liability == 1_330
    assert report.baseline is None
    assert report.difference() is None


def test_difference_from_a_baseline(tmp_path: Path) -> None:
    report = simulate_history(
        monthly_history(tmp_path / "h.csv"),
        program=load_program(monthly_program(bonus=20)),
        baseline=load_program(monthly_program()),
        baseline_source="monthly.yaml",
    )
    difference = report.difference()
    assert difference is not None
    # the bonus applied twice in January and once in February and March: 4 x 10 more points
    assert difference["totals"]["points_issued"] == 40
    assert [m["points_issued"] for m in difference["months"]] == [20, 10, 10]
    assert all(set(m["tiers"].values()) == {0} for m in difference["months"])
    assert difference["totals"]["expected_redemption_cost"] == round(230 * 0.7 * 10) - 1_330


def test_refused_rows_are_left_out_and_reported(tmp_path: Path) -> None:
    path = monthly_history(tmp_path / "h.csv")
    text = path.read_text().replace("2026-03-05T12:00:00Z", "yesterday")
    path.write_text(text)
    report = simulate_history(path, program=load_program(monthly_program()))
    assert (report.purchases, report.refused_purchases) == (4, 1)
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (5, "occurred_at", "invalid_time")
    ]
    assert [m.points_issued for m in report.proposed.months] == [140, 30]


def test_a_baseline_in_another_currency_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SimulationInputError):
        simulate_history(
            monthly_history(tmp_path / "h.csv"), program=load_program(monthly_program()),
            baseline=SEED,
        )  # fmt: skip


def test_tier_dependent_limit_takes_a_second_scoring_round(tmp_path: Path) -> None:
    rows = [
        row
        for n, (day, total) in enumerate([(10, "100.00"), (11, "10.00"), (12, "10.00")])
        for row in purchase_rows(
            f"w-{n}",
            "m",
            f"2026-01-{day}T12:00:00Z",
            total,
            [("sku", "c", 1, total)],
            currency="PLN",
        )
    ]
    history = history_from_file(write_history(tmp_path / "h.csv", rows), "PLN")
    result = replay(load_program(WELCOME_PROGRAM), history, [datetime(2026, 2, 1, tzinfo=UTC)])
    # 100 points make the member Silver; the welcome bonus goes to the next purchase only.
    # Scored as Silver throughout, the first purchase would have spent it: one more round.
    assert result.purchases["points"].to_list() == [100, 60, 10]
    assert result.purchases["tier_id"].to_list() == [None, "silver", "silver"]
    assert result.rounds == 1


def test_histories_without_member_purchases(tmp_path: Path) -> None:
    header = write_history(tmp_path / "empty.csv", [])
    report = simulate_history(header, program=load_program(monthly_program()))
    assert (report.purchases, report.proposed.months, report.first_purchase_at) == (0, [], None)
    assert report.proposed.totals.points_issued == 0
    rows = purchase_rows("x-1", "", "2026-01-10T12:00:00Z", "60.00", [("sku", "c", 1, "60.00")],
                         currency="PLN")  # fmt: skip
    report = simulate_history(
        write_history(tmp_path / "anonymous.csv", rows), program=load_program(monthly_program())
    )
    assert report.purchases == 1
    assert [(m.month, m.points_issued, m.tiers) for m in report.proposed.months] == [
        ("2026-01", 0, {"none": 0, "silver": 0})
    ]
    assert (report.proposed.totals.purchases, report.proposed.totals.members) == (0, 0)


JANUARY_CAMPAIGNS = """
campaigns:
  - key: jan-gift
    name: {en: January gift}
    window: {start: "2026-01-01", end: "2026-01-31"}
    effect: {bonus_points: 5}
    deferred:
      - issue_reward: {reward: GIFT10}
      - credit_wallet: {percent: "10"}
      - send_message: {template: thanks}
  - key: silver-double
    name: {en: Silver double}
    window: {start: "2026-01-01", end: "2026-03-31"}
    audience: {tiers: [silver]}
    effect: {multiply_order: 2}
    stacking: best_of
  - key: lucky
    name: {en: Lucky}
    window: {start: "2026-01-01", end: "2026-03-31"}
    prize: {probability: "0.5"}
    effect: {bonus_points: 100}
  - key: birthday
    name: {en: Birthday}
    trigger: birthday
    window: {start: "2026-01-01", end: "2026-12-31"}
    effect: {bonus_points: 50}
  - key: later
    name: {en: Later}
    status: draft
    window: {start: "2026-01-01", end: "2026-12-31"}
    effect: {bonus_points: 1000}
messages:
  - id: thanks
    subject: {en: "Thank you"}
    body: {en: "Your coupon: {coupon_code}"}
"""


def test_campaigns_points_deferred_effects_and_not_projected(tmp_path: Path) -> None:
    program = load_program(monthly_program() + JANUARY_CAMPAIGNS)
    report = simulate_history(monthly_history(tmp_path / "h.csv"), program=program)
    run = report.proposed
    # Jan 10: 60 + 10 + 5 (jan-gift) = 75; Jan 20: 40 + 10 + 5 = 55, 130 points: Silver.
    # Jan 25 (Silver): 10 x 2 + 5 + silver-double round(10.00 x 1 x (2 - 1)) = 10: 35.
    # Feb 3 (Silver; January's 165 points kept it at the review): 10 x 2 + 10 + 10 = 40.
    # The end of February finds 40 points: no tier; Mar 5: 10 + 10 = 20.
    assert run.totals.points_issued == 75 + 55 + 35 + 40 + 20
    assert run.totals.points_from_campaigns == 15 + 20
    assert run.totals.points_from_rules == 190  # the program without campaigns (the example)
    assert [m.points_from_campaigns for m in run.months] == [25, 10, 0]
    gift, double = run.campaigns
    assert (gift.key, gift.method, gift.applications, gift.participants) == (
        "jan-gift", "vectorised", 3, 1
    )  # fmt: skip
    assert (gift.points_issued, gift.coupons_issued, gift.messages) == (15, 3, 3)
    assert gift.wallet_credited == 600 + 400 + 100  # 10 % of 60.00, 40.00, 10.00
    assert (gift.budget_points, gift.budget_left, gift.prizes_won, gift.raffle_entries) == (
        None, None, None, None
    )  # fmt: skip
    assert (double.key, double.applications, double.points_issued) == ("silver-double", 2, 20)
    assert [(item.key, item.trigger) for item in run.campaigns_not_projected] == [
        ("lucky", "purchase"),  # a history file holds no committed seed
        ("birthday", "birthday"),
    ]
    document = report.to_dict()["proposed"]
    assert document["campaigns"][0]["budget_exhausted_at"] is None
    assert document["totals"]["points_from_campaigns"] == 35


FEBRUARY_BUDGET = """
campaigns:
  - key: feb-budget
    name: {en: February}
    window: {start: "2026-02-01", end: "2026-03-31"}
    effect: {bonus_points: 15}
    budget: {points: 20}
"""


def test_a_budget_that_runs_out(tmp_path: Path) -> None:
    program = load_program(monthly_program() + FEBRUARY_BUDGET)
    report = simulate_history(
        monthly_history(tmp_path / "h.csv"),
        program=program,
        baseline=load_program(monthly_program()),
        baseline_source="monthly.yaml",
    )
    (february,) = report.proposed.campaigns
    # Feb 3 spends 15 of 20; Mar 5 needs 15 with 5 left: refused, the budget ran out then
    assert (february.method, february.applications, february.points_issued) == ("ordered", 1, 15)
    assert (february.budget_points, february.budget_consumed, february.budget_left) == (20, 15, 5)
    assert february.budget_exhausted_at == datetime(2026, 3, 5, 12, tzinfo=UTC)
    difference = report.difference()
    assert difference is not None
    assert difference["totals"]["points_issued"] == 15
    assert difference["totals"]["points_from_rules"] == 0
    assert [m["points_from_campaigns"] for m in difference["months"]] == [0, 15, 0]


WELCOME_CAMPAIGN = """
program: {name: Welcome, currency: PLN, timezone: UTC}
earning:
  base: {points: 1, per_amount: "1.00"}
tiers:
  levels:
    - {id: silver, name: Silver, threshold: 100}
campaigns:
  - key: welcome-silver
    name: {en: Welcome to Silver}
    window: {start: "2026-01-01", end: "2026-12-31"}
    audience: {tiers: [silver]}
    effect: {bonus_points: 50}
    limits: {per_member: 1}
"""


def test_a_limited_campaign_for_a_tier_takes_a_second_scoring_round(tmp_path: Path) -> None:
    rows = [
        row
        for n, (day, total) in enumerate([(10, "100.00"), (11, "10.00"), (12, "10.00")])
        for row in purchase_rows(
            f"w-{n}",
            "m",
            f"2026-01-{day}T12:00:00Z",
            total,
            [("sku", "c", 1, total)],
            currency="PLN",
        )
    ]
    history = history_from_file(write_history(tmp_path / "h.csv", rows), "PLN")
    program = load_program(WELCOME_CAMPAIGN)
    result = replay(program, history, [datetime(2026, 2, 1, tzinfo=UTC)])
    # as WELCOME_PROGRAM's rule: the campaign's one use goes to the first Silver purchase
    assert result.purchases["points"].to_list() == [100, 60, 10]
    assert result.purchases["campaign_points"].to_list() == [0, 50, 0]
    assert result.rounds == 1
