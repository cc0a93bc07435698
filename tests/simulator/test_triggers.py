"""Campaigns on other triggers in the simulator, by hand and as properties: anniversaries of
the first purchase from a history file (29 February, the walked tier read at the moment, a
global limit), the campaigns a file cannot project, and the limits and budgets that the
ordered pass never exceeds (docs/simulator.md, "Campaigns on other triggers"). The live
engine's equality is ``test_triggers_live.py``."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from patron.cli.main import app
from patron.programs.loader import load_program
from patron.rules.periods import limit_period_key
from patron.rules.vocabulary import Stacking, Trigger
from patron.rules.vocabulary.audience import MemberFacts
from patron.simulator.service import simulate_history
from patron.simulator.trigger_occurrences import Occurrence, TriggerData, TriggerMember
from patron.simulator.trigger_projection import project_triggers
from patron.simulator.trigger_run import run_triggers
from tests.simulator.factories import purchase_rows, write_history

PROGRAM = """
program: {name: Anniversaries, currency: PLN, timezone: UTC}
earning:
  base: {points: 1, per_amount: "1.00"}
tiers:
  levels:
    - {id: silver, name: Silver, threshold: 100}
campaigns:
  - key: loyal
    name: {en: Loyal}
    window: {start: "2024-01-01", end: "2025-12-31"}
    trigger: anniversary
    when: {tier_in: [silver]}
    effect: {bonus_points: 50}
  - key: first-only
    name: {en: First only}
    window: {start: "2024-01-01", end: "2025-12-31"}
    trigger: anniversary
    occasion: {days: 2}
    effect: {bonus_points: 7}
    limits: {total: 1}
  - key: birthday
    name: {en: Birthday}
    window: {start: "2024-01-01", end: "2025-12-31"}
    trigger: birthday
    effect: {bonus_points: 100}
  - key: vip-anniversary
    name: {en: VIP anniversary}
    window: {start: "2024-01-01", end: "2025-12-31"}
    trigger: anniversary
    audience: {segments: [champions]}
    effect: {bonus_points: 100}
"""


def _history(tmp_path: Path) -> Path:
    """Member a: 150.00 on 29 February 2024 (Silver at once); member b: 20.00 on 10 March
    2024 and 10.00 on 15 March 2025 (never Silver)."""
    rows = [
        *purchase_rows("o-1", "a", "2024-02-29T10:00:00Z", "150.00", [("s", "c", 1, "150.00")],
                       currency="PLN"),
        *purchase_rows("o-2", "b", "2024-03-10T10:00:00Z", "20.00", [("s", "c", 1, "20.00")],
                       currency="PLN"),
        *purchase_rows("o-3", "b", "2025-03-15T10:00:00Z", "10.00", [("s", "c", 1, "10.00")],
                       currency="PLN"),
    ]  # fmt: skip
    return write_history(tmp_path / "history.csv", rows)


def test_anniversaries_from_a_history_file(tmp_path: Path) -> None:
    report = simulate_history(_history(tmp_path), program=load_program(PROGRAM))
    run = report.proposed
    found = {item.key: item for item in run.campaigns}
    loyal, first = found["loyal"], found["first-only"]
    # a's first anniversary is on 28 February 2025 (no 29 February that year), a Silver
    # then; b's (10 March) finds b without a tier
    assert (loyal.trigger, loyal.applications, loyal.participants, loyal.points_issued) == (
        "anniversary", 1, 1, 50
    )  # fmt: skip
    # the global limit of 1: a's, two days before (26 February); b's is refused
    assert (first.applications, first.points_issued, first.usage_limit) == (1, 7, 1)
    assert run.totals.points_from_other_triggers == 57
    assert run.totals.points_issued == 150 + 20 + 10 + 57
    assert run.totals.points_from_campaigns == 57
    assert run.totals.points_from_rules == 180
    months = {month.month: month for month in run.months}
    assert months["2025-02"].points_from_other_triggers == 57
    assert months["2025-02"].points_issued == 57
    assert sum(month.points_from_other_triggers for month in run.months) == 57
    assert [(item.key, item.trigger) for item in run.campaigns_not_projected] == [
        ("birthday", "birthday"),
        ("vip-anniversary", "anniversary"),
    ]
    reasons = {item.key: item.reason for item in run.campaigns_not_projected}
    assert reasons["birthday"].startswith("trigger birthday: a history file holds purchases")
    assert reasons["vip-anniversary"].startswith("audience by segments")
    document = report.to_dict()["proposed"]
    assert document["totals"]["points_from_other_triggers"] == 57
    assert {item["key"]: item["trigger"] for item in document["campaigns"]} == {
        "loyal": "anniversary",
        "first-only": "anniversary",
    }


EVENTS = """
program: {name: Events, currency: PLN, timezone: Europe/Warsaw}
earning:
  base: {points: 1, per_amount: "1.00"}
campaigns:
"""


def _campaign(index: int, points: int, per_member: int | None, period: str, total: int | None,
              budget: int | None, stacking: Stacking) -> str:  # fmt: skip
    text = (
        f"  - key: c{index}\n    name: {{en: C{index}}}\n"
        '    window: {start: "2026-01-01", end: "2026-12-31"}\n'
        f"    trigger: event\n    event: share\n    effect: {{bonus_points: {points}}}\n"
        f"    stacking: {stacking.value}\n    priority: {index % 2}\n"
    )
    limits = []
    if per_member is not None:
        limits += [f"per_member: {per_member}", f"period: {period}"]
    if total is not None:
        limits.append(f"total: {total}")
    if limits:
        text += "    limits: {" + ", ".join(limits) + "}\n"
    if budget is not None:
        text += f"    budget: {{points: {budget}}}\n"
    return text


CAMPAIGNS = st.lists(
    st.tuples(
        st.integers(1, 60),
        st.none() | st.integers(1, 3),
        st.sampled_from(["day", "week", "month", "lifetime"]),
        st.none() | st.integers(1, 12),
        st.none() | st.integers(1, 300),
        st.sampled_from(list(Stacking)),
    ),
    min_size=1,
    max_size=4,
)
EVENTS_AT = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 90 * 24 * 60)), min_size=1, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(campaigns=CAMPAIGNS, events=EVENTS_AT)
def test_limits_and_budgets_are_never_exceeded(
    campaigns: list[tuple[int, int | None, str, int | None, int | None, Stacking]],
    events: list[tuple[int, int]],
) -> None:
    text = EVENTS + "".join(_campaign(n, *spec) for n, spec in enumerate(campaigns))
    program = load_program(text)
    chosen = tuple(c for c in program.campaigns if c.trigger is Trigger.EVENT)
    start = datetime(2026, 2, 1, tzinfo=UTC)
    found = sorted(
        (
            Occurrence(
                start + timedelta(minutes=minutes), member, Trigger.EVENT, f"event:{n}", chosen
            )
            for n, (member, minutes) in enumerate(events)
        ),
        key=Occurrence.order,
    )
    run = run_triggers(program, chosen, found, [MemberFacts()] * len(found))
    by_key = {campaign.key: campaign for campaign in chosen}
    moments = {item.name: item.moment for item in found}
    per_period: Counter[tuple[object, str, str]] = Counter()
    per_occurrence: dict[str, list[str]] = {}
    for award in run.awards:
        campaign = by_key[award.key]
        limits = campaign.limits
        if limits is not None and limits.per_member is not None:
            period = limit_period_key(limits.period, moments[award.occurrence], "Europe/Warsaw")
            per_period[(award.member, award.key, period)] += 1
            assert per_period[(award.member, award.key, period)] <= limits.per_member
        per_occurrence.setdefault(award.occurrence, []).append(award.key)
    for key, totals in run.totals.items():
        campaign = by_key[key]
        assert totals.points == campaign.effect.bonus_points * totals.applications  # type: ignore[union-attr]
        if campaign.budget is not None and campaign.budget.points is not None:
            assert totals.points <= campaign.budget.points
            if totals.exhausted_at is not None:  # refused: the next one did not fit
                assert campaign.budget.points - totals.points < campaign.effect.bonus_points  # type: ignore[union-attr]
        if campaign.limits is not None and campaign.limits.total is not None:
            assert totals.applications <= campaign.limits.total
    for keys in per_occurrence.values():
        assert len(keys) == len(set(keys))  # once per occurrence
        exclusive = [k for k in keys if by_key[k].stacking is Stacking.EXCLUSIVE]
        assert not exclusive or keys == exclusive[:1]
        assert sum(by_key[k].stacking is Stacking.PRIORITY for k in keys) <= 1
        assert sum(by_key[k].stacking is Stacking.BEST_OF for k in keys) <= 1


def test_the_summary_names_the_trigger(tmp_path: Path) -> None:
    program = tmp_path / "program.yaml"
    program.write_text(PROGRAM, encoding="utf-8")
    text = CliRunner().invoke(
        app, ["simulate", "--program", str(program), "--history", str(_history(tmp_path))]
    )
    assert text.exit_code == 0, text.output
    row = next(line for line in text.stdout.splitlines() if "loyal (anniversary)" in line)
    cells = [cell.strip() for cell in row.strip().strip("│┃").split("│")]
    assert cells[:4] == ["loyal (anniversary)", "1", "1", "50"], cells
    assert "on other triggers" in text.stdout
    assert "not projected: vip-anniversary (anniversary): audience by segments" in text.stdout


REFERRALS = """
program: {name: Referrals, currency: PLN, timezone: Europe/Warsaw}
earning:
  base: {points: 1, per_amount: "1.00"}
campaigns:
  - key: thanks
    name: {en: Thanks}
    window: {start: "2026-01-01", end: "2026-12-31"}
    trigger: referral
    referral_side: referrer
    effect: {bonus_points: 300}
    budget: {points: 600}
  - key: friend
    name: {en: Friend}
    window: {start: "2026-01-01", end: "2026-12-31"}
    trigger: referral
    referral_side: referee
    effect: {bonus_points: 100}
  - key: welcome
    name: {en: Welcome}
    window: {start: "2026-03-01", end: "2026-12-31"}
    trigger: signup
    effect: {bonus_points: 50}
"""


def test_referrals_by_side_and_signups_from_the_database_rows() -> None:
    """Each rewarded referral's side gets its side's campaigns; the referrer's budget affords
    two; an imported member gets no welcome, nor one enrolled before the window (or the
    period), nor a blocked side (not among the active members read)."""
    program = load_program(REFERRALS)
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    members = (
        *(
            TriggerMember(id=n, enrolled_at=at + timedelta(days=n), imported=n == 3)
            for n in (1, 2, 3, 4, 5)
        ),
        TriggerMember(id=6, enrolled_at=datetime(2026, 2, 27, tzinfo=UTC)),
    )
    data = TriggerData(
        members=members,
        referrals=(
            (10, 1, 2, at + timedelta(days=20)),
            (11, 1, 3, at + timedelta(days=21)),
            (12, 1, 4, at + timedelta(days=22)),
            (13, 9, 5, at + timedelta(days=23)),  # member 9 is blocked: not read
        ),
    )
    bought = [datetime(2026, 2, 20, tzinfo=UTC), at + timedelta(days=40)]  # the period
    purchases = pl.DataFrame(
        {"seq": [0, 1], "member": [1, 1], "at": bought, "total": [100, 100],
         "shipping": [0, 0], "points": [1, 1]},
        schema_overrides={"at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    found = project_triggers(program, purchases, [datetime(2026, 5, 1, tzinfo=UTC)], data)
    awards = sorted((a.key, a.member, a.occurrence, a.points) for a in found.awards)
    assert awards == [
        ("friend", 2, "referral:10:referee", 100),
        ("friend", 3, "referral:11:referee", 100),
        ("friend", 4, "referral:12:referee", 100),
        ("friend", 5, "referral:13:referee", 100),
        ("thanks", 1, "referral:10:referrer", 300),
        ("thanks", 1, "referral:11:referrer", 300),  # the third: the budget is used up
        ("welcome", 1, "signup", 50),
        ("welcome", 2, "signup", 50),
        ("welcome", 4, "signup", 50),
        ("welcome", 5, "signup", 50),
    ]
    thanks = next(item for item in found.reports if item.key == "thanks")
    assert (thanks.budget_left, thanks.budget_exhausted_at) == (0, at + timedelta(days=22))
