"""A return gives back to the campaigns that applied to the purchase: its share of the points
and of the cashback taken back to the budgets, and (once the goods are wholly refunded) its
use to the global and the per-member limit; exactly once per return, whatever the retries.
On both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from click.testing import Result
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from patron.campaigns import views
from patron.campaigns.give_back import share
from patron.campaigns.pacing import run_budget_pacing
from patron.cli.main import app as cli
from patron.kit.db import Database
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from tests.campaigns.give_back import GIVER, Counter, counter, member_uses, still_gives
from tests.campaigns.triggers import enrol
from tests.wallet.helpers import (
    NOW,
    active,
    breaches,
    events,
    pay_cashback,
    program_text,
    purchase_body,
)
from tests.wallet.helpers import give_back as return_purchase


async def _setup(
    database: Database, campaign: str = GIVER, when_spent: str = "debt", pending_days: int = 14
) -> int:
    text = program_text(campaign, when_spent=when_spent)
    text = text.replace("pending_days: 14", f"pending_days: {pending_days}")
    async with database.write() as session:
        applied = await program_service.apply_program(
            session,
            text=text,
            key="default",
            created_by="tests",
            now=NOW - timedelta(hours=1),
        )
    return await enrol(database, applied.program_id, "ann")


async def _buy(database: Database, external_id: str, total: str = "1000.00") -> int:
    program = await active(database)
    async with database.write() as session:
        recorded = await record_purchase(
            session, active=program, data=purchase_body(external_id, total), now=NOW
        )
    return recorded.purchase.id


async def _cli(database: Database, *flags: str) -> Result:
    arguments = ["campaigns", "stats", "giver", *flags, "--db", database.url]
    return await asyncio.to_thread(CliRunner().invoke, cli, arguments)


async def _stats(database: Database) -> views.CampaignStats:
    async with database.read() as session:
        program = await program_service.get_active_program(session, key="default")
        return await views.campaign_stats(session, active=program, key="giver", now=NOW)


@given(
    part=st.integers(0, 10**9),
    whole=st.integers(1, 10**9),
    steps=st.lists(st.integers(0, 10**9), max_size=6),
)
def test_shares_grow_with_what_was_done_and_reach_the_part_when_all_is(
    part: int, whole: int, steps: list[int]
) -> None:
    done = [*sorted(min(step, whole) for step in steps), whole]
    shares = [share(part, d, whole) for d in done]
    assert shares == sorted(shares)
    assert all(0 <= s <= part for s in shares)
    assert shares[-1] == part
    # two campaigns' shares never add up to more than the purchase's share of both
    assert share(part, done[0], whole) + share(part // 3, done[0], whole) <= share(
        part + part // 3, done[0], whole
    )


async def test_a_full_return_gives_back_points_money_and_uses(database: Database) -> None:
    await _setup(database)
    first = await _buy(database, "p1")
    await pay_cashback(database)
    # 100 points and 50.00 of cashback claimed, one use of the 50 and of the member's month
    assert await counter(database) == Counter(1, 100, 5000)
    assert await member_uses(database) == 1
    await _buy(database, "p2")  # the member's limit is used up this month
    assert await counter(database) == Counter(1, 100, 5000)

    await return_purchase(database, first, "r1")
    assert await counter(database) == Counter(0, 0, 0)
    assert await member_uses(database) == 0
    assert await still_gives(database) == Counter(0, 0, 0)
    await return_purchase(database, first, "r1")  # a retry gives back nothing more
    assert await counter(database) == Counter(0, 0, 0)

    stats = await _stats(database)
    assert (stats.applications, stats.points_spent, stats.points_given_back) == (1, 100, 100)
    assert (stats.points_net, stats.uses_given_back, stats.money_given_back) == (0, 1, "50.00")
    assert (stats.budget_left, stats.budget_money_left) == (300, "150.00")

    await _buy(database, "p3")  # the member may have it again this month
    assert await counter(database) == Counter(1, 100, 5000)
    assert await member_uses(database) == 1
    await pay_cashback(database)
    assert await still_gives(database) == await counter(database)
    assert await breaches(database) == []


async def test_partial_returns_give_back_shares_and_the_last_one_the_use(
    database: Database,
) -> None:
    await _setup(database)
    purchase = await _buy(database, "p1")  # 100 base + 100 campaign points, 50.00 cashback
    await pay_cashback(database)

    await return_purchase(database, purchase, "r1", "250.00")
    # the ledger reverses floor(200 x 250 / 1000) = 50 points; the campaign's share is
    # floor(100 x 50 / 200) = 25; the wallet takes back floor(5000 x 250 / 1000) = 1250
    assert await counter(database) == Counter(1, 75, 3750)
    assert await member_uses(database) == 1  # a partial return gives no use back
    await return_purchase(database, purchase, "r1", "250.00")  # a retry: nothing more
    assert await counter(database) == Counter(1, 75, 3750)

    await return_purchase(database, purchase, "r2", "333.33")
    # refunded 583.33: floor(200 x 583.33 / 1000) = 116 reversed, share floor(100 x 116 / 200)
    # = 58; cashback floor(5000 x 58333 / 100000) = 2916
    assert await counter(database) == Counter(1, 42, 2084)
    assert await still_gives(database) == Counter(1, 42, 2084)

    await return_purchase(database, purchase, "r3")  # the rest
    assert await counter(database) == Counter(0, 0, 0)
    assert await member_uses(database) == 0
    stats = await _stats(database)
    assert (stats.points_given_back, stats.money_given_back, stats.uses_given_back) == (
        100,
        "50.00",
        1,
    )
    assert await breaches(database) == []


async def test_a_return_before_the_cashback_gives_the_money_back_when_it_is_credited(
    database: Database,
) -> None:
    await _setup(database)
    purchase = await _buy(database, "p1")
    await return_purchase(database, purchase, "r1")  # before the handler credited anything
    assert await counter(database) == Counter(0, 0, 5000)  # the cashback is still claimed
    await pay_cashback(database)  # credits 50.00 and takes it back at once
    assert await counter(database) == Counter(0, 0, 0)
    assert await still_gives(database) == Counter(0, 0, 0)
    assert (await _stats(database)).money_given_back == "50.00"
    assert await breaches(database) == []


async def test_points_the_member_kept_are_not_given_back(database: Database) -> None:
    # no money budget, no limits; points available at once, spent before the return
    campaign = GIVER.replace('budget: {points: 300, money: "150.00"}', "budget: {points: 300}")
    campaign = campaign.replace("    limits: {per_member: 1, period: month, total: 50}\n", "")
    member = await _setup(database, campaign, when_spent="cap_at_available", pending_days=0)
    purchase = await _buy(database, "p1")  # 200 points
    async with database.write() as session:
        await ledger_service.debit(
            session,
            member_id=member,
            amount=150,
            kind=EntryKind.REDEEM,
            idempotency_key="spend",
            source_type="test",
            source_id="spend",
            now=NOW,
        )
    await return_purchase(database, purchase, "r1")  # takes back only the 50 left
    # the ledger reversed 50 of 200: the campaign's share is floor(100 x 50 / 200) = 25
    # wholly refunded: the use is given back; the cashback (not credited yet) stays claimed
    assert await counter(database) == Counter(0, 75, 5000)
    assert await still_gives(database) == Counter(0, 75, 5000)
    assert (await _stats(database)).points_given_back == 25


async def test_the_stats_and_the_cli_show_what_was_given_back(database: Database) -> None:
    await _setup(database)
    purchase = await _buy(database, "p1")
    await pay_cashback(database)
    await return_purchase(database, purchase, "r1", "500.00")
    found = await _cli(database, "--json")
    assert found.exit_code == 0, found.output
    stats = json.loads(found.output)
    assert {k: stats[k] for k in ("points_spent", "points_given_back", "points_net")} == {
        "points_spent": 100,
        "points_given_back": 50,
        "points_net": 50,
    }
    assert (stats["money_given_back"], stats["uses_given_back"]) == ("25.00", 0)
    assert (stats["budget_left"], stats["budget_money_left"]) == (250, "125.00")
    text = await _cli(database)
    assert "given back    50 points, 25.00 RUB, 0 uses (returns)" in text.output


async def test_pacing_reads_the_spending_net_of_returns(database: Database) -> None:
    campaign = GIVER.replace("    limits: {per_member: 1, period: month, total: 50}\n", "")
    december = 'start: "2026-12-01", end: "2026-12-31"'
    await _setup(database, campaign.replace('start: "2026-01-01", end: "2030-12-31"', december))
    later = NOW + timedelta(days=1)  # 8.5 days into December
    purchase = await _buy(database, "p1")
    await pay_cashback(database)
    await return_purchase(database, purchase, "r1")
    assert await run_budget_pacing(database, key="default", now=later) == 0  # nothing net
    second = await _buy(database, "p2")
    await _buy(database, "p3")
    await pay_cashback(database)
    await return_purchase(database, second, "r2", "500.00")  # gives back half of p2's
    # net 150 of 300 points and 75.00 of 150.00 in 8.5 of 31 days: both run out early
    assert await run_budget_pacing(database, key="default", now=later) == 2
    alerts = await events(database, "campaigns.budget_alert")
    assert [(a["budget"], a["spent_points"], a["spent_money"]) for a in alerts] == [
        ("points", 150, None),
        ("money", None, "75.00"),
    ]
