"""The projection of campaigns on other triggers equals what the live engine does on the same
data: random members (birth dates with 29 February and 31 December, a birth date set just
after enrolment) enrol at their time (the welcome through the dispatcher), buy at their time
(``record_purchase``: first purchases and money tiers), post custom events
(``record_event``) and reviews (``create_review``, through the dispatcher), and the daily
job's steps (birthdays, anniversaries, schedules) run at
the start of every local day of the history, as the simulator takes them to run. Then the
simulator reads the database and projects the campaigns: every application (member,
campaign, occurrence, points) must be the one live recorded, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from patron.campaigns.custom_events import record_event
from patron.campaigns.event_schemas import CustomEventCreate
from patron.campaigns.models import CampaignAward
from patron.feedback.reviews import create_review
from patron.feedback.schemas import ReviewCreate
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.members import service as member_service
from patron.members.schemas import MemberCreate, MemberUpdate
from patron.programs import service as program_service
from patron.programs.loader import load_program
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.simulator.balances import month_grid
from patron.simulator.history import history_from_rows
from patron.simulator.replay import replay
from patron.simulator.repository import SimulatorRepository
from patron.simulator.service import simulate_database
from patron.simulator.trigger_occurrences import job_moments
from patron.simulator.trigger_projection import project_triggers
from patron.worker import registry
from patron.worker.campaigns import run_date_campaigns, run_schedule_campaigns
from tests.purchases.bulk.factories import apply

# Money tiers over a lifetime: the campaigns' points do not move anyone's tier (live they
# count in a points metric, the replay does not: docs/simulator.md, "Limits"), nobody falls.
PROGRAM = """
program: {name: Triggers, currency: PLN, timezone: Europe/Warsaw}
earning:
  base: {points: 1, per_amount: "1.00"}
tiers:
  qualify_on: money_spent
  window: lifetime
  levels:
    - {id: silver, name: Silver, threshold: "300.00"}
    - {id: gold, name: Gold, threshold: "900.00"}
campaigns:
  - key: welcome
    name: {en: Welcome}
    window: {start: "2026-01-01", end: "2027-12-31"}
    trigger: signup
    effect: {bonus_points: 100}
    budget: {points: 700}
  - key: birthday
    name: {en: Birthday}
    window: {start: "2026-01-01", end: "2027-12-31"}
    trigger: birthday
    occasion: {days: 3, birth_date_unchanged_days: 30}
    effect: {bonus_points: 200}
  - key: birthday-gold
    name: {en: Gold birthday}
    window: {start: "2026-01-01", end: "2027-12-31"}
    trigger: birthday
    audience: {tiers: [gold]}
    priority: 5
    stacking: exclusive
    effect: {bonus_points: 500}
    budget: {points: 1000}
  - key: year-with-us
    name: {en: A year with us}
    window: {start: "2026-01-01", end: "2027-12-31"}
    trigger: anniversary
    occasion: {days: 1}
    when: {tier_in: [silver, gold]}
    effect: {bonus_points: 300}
  - key: monday
    name: {en: Monday}
    window: {start: "2026-03-01", end: "2027-12-31"}
    trigger: schedule
    schedule: {every: week, weekday: mon, at: "09:00"}
    audience: {tiers: [gold]}
    effect: {bonus_points: 15}
    limits: {total: 25}
  - key: share
    name: {en: Share}
    window: {start: "2026-01-01", end: "2027-12-31"}
    trigger: event
    event: social_share
    effect: {bonus_points: 20}
    limits: {per_member: 2, period: week}
    budget: {points: 600}
  - key: review-thanks
    name: {en: Thanks for the review}
    window: {start: "2026-01-01", end: "2027-12-31"}
    trigger: review
    effect: {bonus_points: 25}
    limits: {per_member: 1, period: month}
  - key: install
    name: {en: Install}
    window: {start: "2026-06-01", end: "2027-12-31"}
    trigger: event
    event: app_install
    effect: {bonus_points: 70}
    limits: {per_member: 1}
"""

BIRTHS = [date(2000, 2, 29), date(1990, 12, 31), date(1985, 1, 2), None, date(1999, 3, 1)]


def rng_rating(now: datetime) -> int:
    return 1 + now.minute % 5


@dataclass(frozen=True, slots=True)
class _Step:
    at: datetime
    order: int  # the job first at its instant, then enrolments, purchases, events
    kind: str
    member: str
    value: object = None


def _timeline(rng: random.Random, start: datetime, days: int) -> list[_Step]:
    steps: list[_Step] = []
    for n in range(10):
        member = f"m-{n}"
        enrolled = (
            start + timedelta(hours=1)
            if n == 0
            else start + timedelta(days=rng.randrange(0, 25), minutes=rng.randrange(1, 1440))
        )
        steps.append(_Step(enrolled, 1, "enrol", member, rng.choice(BIRTHS) if n else None))
        for _ in range(rng.randrange(2, 8)):
            at = enrolled + timedelta(
                days=rng.randrange(0, days - 30), minutes=rng.randrange(1, 900)
            )
            steps.append(_Step(at, 2, "purchase", member, rng.randrange(5_000, 60_000)))
        for _ in range(rng.randrange(0, 12)):
            at = enrolled + timedelta(
                days=rng.randrange(0, days - 30), minutes=rng.randrange(1, 900)
            )
            kind = rng.choice(["social_share", "app_install", "review"])
            steps.append(_Step(at, 3, "review" if kind == "review" else "event", member, kind))
    last = start + timedelta(days=days)
    steps.append(_Step(start + timedelta(hours=2), 2, "purchase", "m-0", 1_000))  # the first
    steps.append(_Step(last, 2, "purchase", "m-0", 1_000))  # the last
    return steps


async def _run(database: Database, program_id: int, steps: list[_Step], start: datetime) -> None:
    members: dict[str, int] = {}
    purchases = 0
    changed = False
    for step in sorted(steps, key=lambda s: (s.at, s.order, s.member)):
        now = step.at
        if step.kind == "job":
            await run_date_campaigns(database, key="default", now=now)
            await run_schedule_campaigns(database, key="default", now=now)
            continue
        async with database.write() as session:
            active = await program_service.get_active_program(session, key="default")
            if step.kind == "enrol":
                born = step.value if isinstance(step.value, date) else None
                created = await member_service.enrol_member(
                    session,
                    program_id=program_id,
                    data=MemberCreate(external_id=step.member, birth_date=born),
                    now=now,
                )
                members[step.member] = created.id
            elif step.kind == "purchase":
                purchases += 1
                assert isinstance(step.value, int)
                amount = f"{step.value // 100}.{step.value % 100:02d}"
                data = PurchaseCreate.model_validate(
                    {"external_id": f"p-{purchases}", "member_external_id": step.member,
                     "occurred_at": now.isoformat(), "currency": "PLN", "total": amount,
                     "lines": [{"sku": "s", "quantity": 1, "unit_price": amount}]}
                )  # fmt: skip
                await record_purchase(session, active=active, data=data, now=now)
            elif step.kind == "review":
                review = ReviewCreate(member_id=members[step.member], rating=rng_rating(now))
                await create_review(session, data=review, now=now)
            else:
                assert isinstance(step.value, str)
                event = CustomEventCreate(
                    member_id=members[step.member],
                    type=step.value,
                    occurred_at=now,
                    idempotency_key=f"e-{step.member}-{now.isoformat()}",
                )
                await record_event(session, active=active, data=event, now=now)
            if step.kind == "enrol" and step.member == "m-0" and not changed:
                # a birth date changed the day the period starts: the guard holds its
                # birthday (29 February + 3 days) back when within 30 days
                changed = True
                await member_service.update_member(
                    session,
                    member_id=members["m-0"],
                    data=MemberUpdate(birth_date=date(2000, 2, 29)),
                    now=now,
                )
        if step.kind in ("enrol", "review"):
            await dispatch_pending(database, registry.handlers(), now=now)


@pytest.mark.parametrize(("seed", "start"), [(3, datetime(2026, 1, 20, 9, tzinfo=UTC)),
                                             (4, datetime(2026, 2, 3, 9, tzinfo=UTC))])  # fmt: skip
async def test_the_projection_equals_what_the_live_engine_did(
    database: Database, seed: int, start: datetime
) -> None:
    program = load_program(PROGRAM)
    program_id = await apply(database, "default", PROGRAM)
    rng = random.Random(seed)
    days = 390  # more than a year: anniversaries of the first purchases
    steps = _timeline(rng, start, days)
    first, last = min(s.at for s in steps if s.kind == "purchase"), start + timedelta(days=days)
    steps += [_Step(moment, 0, "job", "") for moment in job_moments("Europe/Warsaw", first, last)]
    await _run(database, program_id, steps, start)

    async with database.read() as session:
        repository = SimulatorRepository(session)
        history = history_from_rows(
            await repository.purchases(program_id), await repository.lines(program_id), "db"
        )
        data = await repository.trigger_data(program_id)
        recorded = (
            await session.execute(
                select(
                    CampaignAward.member_id,
                    CampaignAward.campaign_key,
                    CampaignAward.occurrence,
                    CampaignAward.points,
                )
            )
        ).all()
        report = await simulate_database(session, program=program)
    months = month_grid(program.program.timezone, first, last)
    ends = [month.end for month in months]
    result = replay(program, history, ends)
    projection = project_triggers(program, result.purchases, ends, data)
    # the lots' moments are the awards'; the applications are those live recorded
    live = sorted((int(m), k, o, int(p)) for m, k, o, p in recorded)
    projected = sorted(
        (int(str(a.member)), a.key, a.occurrence, a.points) for a in projection.awards
    )
    assert projected == live
    assert len(projection.lots) == len(live)
    assert live  # the campaigns applied
    found = {key for _, key, _, _ in live}
    assert {"welcome", "birthday", "year-with-us", "monday", "share", "install",
            "review-thanks"} <= found  # fmt: skip

    run = {item.key: item for item in report.proposed.campaigns}
    counted: Counter[str] = Counter()
    points: Counter[str] = Counter()
    for _, key, _, value in live:
        counted[key] += 1
        points[key] += value
    for key in counted:
        assert (run[key].trigger, run[key].applications, run[key].points_issued) == (
            run[key].trigger, counted[key], points[key]
        )  # fmt: skip
    assert report.proposed.totals.points_from_other_triggers == sum(points.values())
    assert run["welcome"].budget_left == 0
    assert run["welcome"].budget_exhausted_at is not None
    assert run["monday"].applications <= 25
