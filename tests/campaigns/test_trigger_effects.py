"""Deferred effects of campaigns on triggers other than a purchase: a coupon (``issue_reward``)
and a wallet credit (``credit_wallet`` with an ``amount``) given with the application, in the
trigger's unit of work, keyed by its ``campaign_awards`` row, so a handler or daily step run
again gives nothing twice; the money is claimed from the money budget with the points, all
or nothing; ``campaigns.applied`` names both. On both databases."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from patron.campaigns import views
from patron.campaigns.handlers import apply_on_event
from patron.campaigns.models import CampaignAward, CampaignCounter
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.ledger.verify import verify
from patron.wallet.models import WalletEntry
from patron.worker import registry
from patron.worker.campaigns import run_date_campaigns
from tests.campaigns.triggers import (
    NOW,
    active,
    apply_program,
    awards,
    campaign_credits,
    coupons,
    enrol,
    envelope,
    payloads,
)

WELCOME = """
  - key: welcome
    name: {en: Welcome}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: signup
    effect: {bonus_points: 100}
    deferred:
      - issue_reward: {reward: DISC10}
      - credit_wallet: {amount: "40.00"}
    budget: {money: "100.00"}
  - key: birthday
    name: {en: Birthday}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: birthday
    occasion: {days: 3}
    effect: {bonus_points: 500}
    deferred:
      - issue_reward: {reward: FREESHIP}
"""


async def _wallet(database: Database) -> list[tuple[int, int, str, str, int | None]]:
    async with database.read() as session:
        rows = await session.execute(
            select(
                WalletEntry.member_id,
                WalletEntry.amount,
                WalletEntry.source_id,
                WalletEntry.idempotency_key,
                WalletEntry.purchase_id,
            ).order_by(WalletEntry.id)
        )
        return [(int(m), int(a), str(s), str(k), p) for m, a, s, k, p in rows]


async def _money_spent(database: Database, key: str) -> tuple[int, int, int] | None:
    program = await active(database)
    async with database.read() as session:
        counter = await session.get(CampaignCounter, (program.program_id, key))
        if counter is None:
            return None
        return counter.uses, counter.points_spent, counter.money_spent


async def test_the_welcome_gives_a_coupon_and_cashback_once_within_its_money_budget(
    database: Database,
) -> None:
    program_id = await apply_program(database, WELCOME)
    members = [await enrol(database, program_id, name, at=NOW) for name in ("ann", "bob", "cy")]
    report = await dispatch_pending(database, registry.handlers(), now=NOW)
    assert report.failed == 0, report.errors
    ann, bob, _ = members  # the third gets nothing
    # 100.00 affords two credits of 40.00: the third member gets nothing (points included)
    assert sorted(await awards(database)) == sorted(
        [(ann, "welcome", "signup", 100), (bob, "welcome", "signup", 100)]
    )
    assert await coupons(database) == [
        (m, "DISC10", 0, f"deferred:{m}:signup:campaign:welcome:0") for m in (ann, bob)
    ]
    assert await _wallet(database) == [
        (m, 4000, "welcome", f"deferred:{m}:signup:campaign:welcome:1", None) for m in (ann, bob)
    ]
    assert await _money_spent(database, "welcome") == (2, 200, 8000)
    applied = await payloads(database, "campaigns.applied")
    assert [(a["member_id"], a["points"], a["cashback"], a["rewards"]) for a in applied] == [
        (ann, 100, "40.00", ["DISC10"]),
        (bob, 100, "40.00", ["DISC10"]),
    ]
    granted = await payloads(database, "rewards.granted")
    assert [(g["member_id"], g["source"], g["source_id"], g["purchase_id"]) for g in granted] == [
        (ann, "campaign", "welcome", None),
        (bob, "campaign", "welcome", None),
    ]
    credited = await payloads(database, "wallet.credited")
    assert [c["member_id"] for c in credited] == [ann, bob]
    # the handler run again for each member (a retried run): nothing twice, nothing claimed
    for member in members:
        enrolled = envelope("members.enrolled", program_id, member, imported=False)
        async with database.write() as session:
            await apply_on_event(session, enrolled)
    assert len(await coupons(database)) == 2
    assert len(await _wallet(database)) == 2
    assert len(await campaign_credits(database)) == 2
    assert await _money_spent(database, "welcome") == (2, 200, 8000)
    async with database.read() as session:
        program = await active(database)
        stats = await views.campaign_stats(session, active=program, key="welcome", now=NOW)
        assert (stats.applications, stats.points_spent, stats.money_spent) == (2, 200, "80.00")
        assert (stats.budget_money_spent, stats.budget_money_left) == ("80.00", "20.00")
        assert await verify(session, now=NOW) == []


async def test_a_birthday_coupon_is_given_once_however_often_the_job_runs(
    database: Database,
) -> None:
    program_id = await apply_program(database, WELCOME)
    member = await enrol(database, program_id, "ann", birth_date=date(1990, 12, 9))
    for day in range(4):  # the job on 8, 9, 10 and 11 December: the window of 9 December
        await run_date_campaigns(database, key="default", now=NOW + timedelta(days=day))
    await run_date_campaigns(database, key="default", now=NOW)  # and again on the first day
    assert await awards(database) == [(member, "birthday", "birthday:2026", 500)]
    assert await coupons(database) == [
        (member, "FREESHIP", 0, f"deferred:{member}:birthday:2026:campaign:birthday:0")
    ]
    applied = await payloads(database, "campaigns.applied")
    assert [(a["occurrence"], a["cashback"], a["rewards"]) for a in applied] == [
        ("birthday:2026", "0.00", ["FREESHIP"])
    ]
    assert await _wallet(database) == []


COUPON_ONLY = """
  - key: birthday-coupon
    name: {en: Birthday coupon}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: birthday
    occasion: {days: 1}
    deferred:
      - issue_reward: {reward: DISC10}
    limits: {total: 1}
"""


async def test_a_campaign_on_another_trigger_may_give_only_a_coupon(database: Database) -> None:
    """Without an ``effect``: no ledger entry, an award row without one, the coupon; its
    global limit of one is claimed as any application's."""
    program_id = await apply_program(database, COUPON_ONLY)
    ann = await enrol(database, program_id, "ann", birth_date=date(1990, 12, 8))
    bob = await enrol(database, program_id, "bob", birth_date=date(1980, 12, 8))
    report = await run_date_campaigns(database, key="default", now=NOW)
    assert (report.members_due, report.applied, report.points) == (2, 1, 0)
    await run_date_campaigns(database, key="default", now=NOW + timedelta(days=1))
    assert await awards(database) == [(ann, "birthday-coupon", "birthday:2026", 0)]
    assert await campaign_credits(database) == []
    async with database.read() as session:
        entries = list(await session.scalars(select(CampaignAward.entry_id)))
    assert entries == [None]
    key = f"deferred:{ann}:birthday:2026:campaign:birthday-coupon:0"
    assert await coupons(database) == [(ann, "DISC10", 0, key)]
    assert await _money_spent(database, "birthday-coupon") == (1, 0, 0)
    assert bob not in {member for member, *_ in await coupons(database)}
