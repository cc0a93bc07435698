"""Raffle prizes by rank (points, a coupon, a wallet credit from the money budget), the draw
record of what each winner received and of the entries it counted (recomputed here from the
seed and the stored rows), the entries stored after the draw (reported, not counted), and
returns: entries recomputed from the kept amount until the draw, an instant prize's coupon
taken back (or named as already used) on a full return. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from patron.campaigns import raffles
from patron.campaigns.models import RaffleEntry
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import OutboxEvent
from patron.ledger.models import entries
from patron.programs import service as program_service
from patron.programs.errors import ProgramInvalidError
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate
from patron.rewards.coupons import consume_coupon
from patron.rewards.models import Coupon, CouponStatus
from patron.rules.vocabulary.prizes import draw_winners, entries_digest
from patron.wallet.models import WalletEntry
from patron.worker import registry
from tests.campaigns.programs import buy_tea, with_campaigns
from tests.purchases.bulk.factories import enrol

NOVEMBER = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the November windows are over
RANKED = """
  - key: ranked
    name: {en: "Ranked raffle"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    budget: {money: "100.00"}
    raffle:
      per_amount: "500.00"
      winners: 5
      prize: {credit_wallet: "60.00"}
      prizes:
        - {rank: 1, bonus_points: 5000}
        - {rank: 2, to_rank: 3, issue_reward: GIFT500}
"""
LUCKY = """
  - key: lucky
    name: {en: "Lucky"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    prize: {probability: "1"}
    effect: {bonus_points: 300}
    deferred:
      - issue_reward: {reward: GIFT500}
"""
MEMBERS = ["ann", "bob", "cid", "dan", "eve", "fay"]


async def _setup(database: Database, campaigns: str = RANKED) -> dict[str, int]:
    async with database.write() as session:
        applied = await program_service.apply_program(
            session, text=with_campaigns(campaigns), created_by="test", now=NOVEMBER
        )
    return await enrol(database, applied.program_id, MEMBERS)


async def _buy(database: Database, external_id: str, member: str, total: str) -> int:
    recorded = await buy_tea(
        database,
        external_id,
        member,
        total,
        occurred_at=NOVEMBER,
        now=NOVEMBER + timedelta(hours=1),
    )
    return recorded.purchase.id


async def _return(
    database: Database, purchase_id: int, external_id: str, amount: str | None = None
) -> bool:
    data = ReturnCreate(external_id=external_id, amount=amount)
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        _, created = await record_return(
            session, active=active, purchase_id=purchase_id, data=data, now=AFTER
        )
    return created


async def _draw(database: Database, now: datetime = AFTER):  # type: ignore[no-untyped-def]
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        return await raffles.draw_raffle(
            session, active=active, key="ranked", winners=None, now=now, drawn_by="tests"
        )


async def _entry_rows(database: Database) -> dict[int, tuple[int, int, bool]]:
    async with database.read() as session:
        rows = await session.execute(
            select(
                RaffleEntry.purchase_id,
                RaffleEntry.entries,
                RaffleEntry.taken_back,
                RaffleEntry.counted_at,
            )
        )
        return {int(p): (int(e), int(t), c is not None) for p, e, t, c in rows}


async def test_prizes_by_rank_are_given_recorded_and_the_draw_is_reproducible(
    database: Database,
) -> None:
    members = await _setup(database)
    for n, member in enumerate(MEMBERS):
        await _buy(database, f"p-{n}", member, f"{500 * (n + 1)}.00")
    drawn = await _draw(database)
    assert (drawn.entries, drawn.participants, len(drawn.winners)) == (21, 6, 5)
    # reproducible: the winners from the revealed seed and the entries by member
    tickets = [(e.member_id, e.entries) for e in drawn.entries_by_member]
    assert tickets == sorted((members[m], n + 1) for n, m in enumerate(MEMBERS))
    winners = [w.member_id for w in drawn.winners]
    assert winners == draw_winners(drawn.seed, "ranked", tickets, 5)
    # what the draw counted: one row per purchase, and their digest
    async with database.read() as session:
        rows = await session.execute(
            select(RaffleEntry.purchase_id, RaffleEntry.member_id, RaffleEntry.entries)
        )
        counted = [(int(p), int(m), int(e)) for p, m, e in rows]
    assert drawn.counted == 6
    assert drawn.entries_digest == entries_digest(counted)
    text = "".join(f"{p}:{m}:{e}\n" for p, m, e in sorted(counted))
    assert drawn.entries_digest == hashlib.sha256(text.encode()).hexdigest()
    # the prizes by rank: 5,000 points, two coupons, then 60.00 into the wallet while the
    # 100.00 money budget lasts (winners are served in member id order)
    by_rank = {w.rank: w.prize for w in drawn.winners}
    assert by_rank[1] is not None
    assert (by_rank[1].kind, by_rank[1].points) == ("points", 5000)
    for rank in (2, 3):
        prize = by_rank[rank]
        assert prize is not None
        assert (prize.kind, prize.reward, prize.given) == (
            "coupon",
            "GIFT500",
            True,
        )
    wallet = sorted(((w.member_id, w.prize) for w in drawn.winners[3:]), key=lambda x: x[0])
    first, second = wallet[0][1], wallet[1][1]
    assert first is not None
    assert (first.given, first.amount, first.amount_minor) == (
        True,
        "60.00",
        6000,
    )
    assert second is not None
    assert (second.given, second.amount) == (False, "60.00")
    assert second.reason is not None
    assert second.reason.startswith("money budget used up")
    async with database.read() as session:
        points = await session.scalar(
            select(func.sum(entries.c.amount)).where(
                entries.c.idempotency_key.like("campaign:ranked:raffle:%")
            )
        )
        coupons = list(await session.scalars(select(Coupon.code).order_by(Coupon.member_id)))
        credits = list(await session.execute(select(WalletEntry.member_id, WalletEntry.amount)))
    assert points == 5000
    assert sorted(coupons) == sorted(by_rank[r].coupon_code for r in (2, 3))
    assert [tuple(c) for c in credits] == [(wallet[0][0], 6000)]
    # drawing again answers the same record and gives nothing twice
    again = await _draw(database, AFTER + timedelta(days=1))
    assert again.winners == drawn.winners
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(WalletEntry)) == 1


async def test_returns_take_entries_back_until_the_draw_and_late_entries_are_reported(
    database: Database,
) -> None:
    await _setup(database)
    full = await _buy(database, "full", "ann", "1500.00")  # 3 entries
    part = await _buy(database, "part", "bob", "2600.00")  # 5 entries
    kept = await _buy(database, "kept", "cid", "1000.00")  # 2 entries
    assert await _return(database, full, "r-1")  # everything: all 3 back
    assert await _return(database, part, "r-2", "700.00")  # 1,900.00 kept: 3 entries
    assert not await _return(database, part, "r-2", "700.00")  # a retry changes nothing
    assert await _return(database, part, "r-3", "1.00")  # 1,899.00 kept: still 3
    rows = await _entry_rows(database)
    assert rows[full] == (3, 3, False)
    assert rows[part] == (5, 2, False)
    async with database.read() as session:
        active = await program_service.get_active_program(session)
        before = await raffles.raffle_view(session, active=active, key="ranked", now=AFTER)
    assert (before.entries, before.participants, before.entries_taken_back) == (5, 2, 5)

    drawn = await _draw(database)
    assert (drawn.entries, drawn.counted) == (5, 3)  # the fully returned row counts as 0
    # after the draw a return takes nothing back: the draw stands as recorded
    assert await _return(database, kept, "r-4")
    assert (await _entry_rows(database))[kept] == (2, 0, True)
    # a purchase dated inside the window, recorded after the draw: stored, not counted,
    # reported
    late = await _buy(database, "late", "dan", "1000.00")
    assert (await _entry_rows(database))[late] == (2, 0, False)
    async with database.read() as session:
        active = await program_service.get_active_program(session)
        shown = await raffles.raffle_view(session, active=active, key="ranked", now=AFTER)
    assert (shown.not_counted_purchases, shown.not_counted_entries) == (1, 2)
    assert (shown.entries, shown.counted, shown.entries_digest) == (5, 3, drawn.entries_digest)


async def _coupon(database: Database) -> tuple[str, CouponStatus]:
    async with database.read() as session:
        row = (await session.execute(select(Coupon.code, Coupon.status))).one()
    return str(row[0]), CouponStatus(row[1])


async def _prize_events(database: Database) -> list[dict[str, object]]:
    async with database.read() as session:
        return list(
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.type == "campaigns.prize_returned")
            )
        )


async def _balance(database: Database, member_id: int) -> int:
    async with database.read() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(entries.c.amount), 0)).where(
                entries.c.member_id == member_id
            )
        )
    return int(total or 0)


async def test_a_full_return_takes_an_instant_prize_back(database: Database) -> None:
    members = await _setup(database, LUCKY)
    won = await _buy(database, "won", "ann", "1000.00")  # 100 base + 300 prize
    await dispatch_pending(database, registry.handlers(), now=NOVEMBER + timedelta(hours=2))
    code, status = await _coupon(database)
    assert status == CouponStatus.ACTIVE
    assert await _balance(database, members["ann"]) == 400
    assert await _return(database, won, "half", "500.00")  # a partial return keeps the coupon
    assert await _coupon(database) == (code, CouponStatus.ACTIVE)
    assert await _balance(database, members["ann"]) == 200  # points back in proportion
    assert await _return(database, won, "rest")
    assert await _coupon(database) == (code, CouponStatus.CANCELLED)
    assert await _balance(database, members["ann"]) == 0
    assert not await _return(database, won, "rest")  # a retry: nothing more
    events = await _prize_events(database)
    assert [(e["campaign_key"], e["purchase_id"]) for e in events] == [("lucky", won)]
    assert events[0]["coupons"] == [
        {"reward": "GIFT500", "coupon_code": code, "outcome": "cancelled"}
    ]


async def test_a_used_prize_coupon_is_named_and_one_not_issued_yet_never_is(
    database: Database,
) -> None:
    await _setup(database, LUCKY)
    used = await _buy(database, "used", "ann", "1000.00")
    await dispatch_pending(database, registry.handlers(), now=NOVEMBER + timedelta(hours=2))
    code, _ = await _coupon(database)
    async with database.write() as session:
        await consume_coupon(session, code=code, ref="order-9", now=AFTER)
    assert await _return(database, used, "r-used")
    # returned before the deferred handler ran: the coupon is never issued
    early = await _buy(database, "early", "bob", "1000.00")
    assert await _return(database, early, "r-early")
    await dispatch_pending(database, registry.handlers(), now=AFTER + timedelta(hours=1))
    async with database.read() as session:
        coupons = list(await session.execute(select(Coupon.code, Coupon.status)))
    assert [tuple(c) for c in coupons] == [(code, CouponStatus.CONSUMED)]
    outcomes = {e["purchase_id"]: e["coupons"] for e in await _prize_events(database)}
    assert outcomes == {
        used: [{"reward": "GIFT500", "coupon_code": code, "outcome": "already_used"}],
        early: [{"reward": "GIFT500", "coupon_code": "", "outcome": "not_issued"}],
    }


async def test_an_ended_prize_window_cannot_move_later_once_its_seed_is_shown(
    database: Database,
) -> None:
    await _setup(database, LUCKY)
    later = with_campaigns(LUCKY.replace('end: "2026-11-30"', 'end: "2026-12-31"'))
    with pytest.raises(ProgramInvalidError) as refused:
        async with database.write() as session:
            await program_service.apply_program(session, text=later, created_by="test", now=AFTER)
    problem = refused.value.problems[0]
    assert (problem.path, problem.code) == ("campaigns[0].window.end", "seed_shown")
    assert refused.value.field == "campaigns[0].window.end"
    # before the end the window may still move; after it, an earlier end is allowed
    async with database.write() as session:
        moved = await program_service.apply_program(
            session, text=later, created_by="test", now=NOVEMBER
        )
        assert moved.version == 2
        earlier = with_campaigns(LUCKY.replace('end: "2026-11-30"', 'end: "2026-11-20"'))
        shorter = await program_service.apply_program(
            session, text=earlier, created_by="test", now=AFTER + timedelta(days=40)
        )
        assert shorter.version == 3


@pytest.mark.parametrize(
    ("raffle", "message"),
    [
        (
            "{per_purchase: 1, prizes: [{rank: 1, to_rank: 3, bonus_points: 5}, "
            "{rank: 3, bonus_points: 1}]}",
            "rank 3 is given by prizes[0] too",
        ),
        ("{per_purchase: 1, prize: {credit_wallet: '1.005'}}", "more than 2 decimal places"),
        ("{per_purchase: 1, prizes: [{rank: 2, issue_reward: NOSUCH}]}", "is not a reward"),
        ("{per_purchase: 1, prize: {bonus_points: 5, credit_wallet: '5.00'}}", "exactly one"),
        ("{per_purchase: 1, prizes: [{rank: 3, to_rank: 2, bonus_points: 5}]}", "to_rank"),
    ],
)
async def test_bad_raffle_prizes_are_refused(database: Database, raffle: str, message: str) -> None:
    text = with_campaigns(
        f"""
  - key: bad
    name: {{en: "Bad"}}
    window: {{start: "2026-11-01", end: "2026-11-30"}}
    raffle: {raffle}
"""
    )
    with pytest.raises(ProgramInvalidError) as refused:
        async with database.write() as session:
            await program_service.apply_program(session, text=text, created_by="t", now=NOVEMBER)
    assert any(message in problem.format() for problem in refused.value.problems), (
        refused.value.problems
    )
