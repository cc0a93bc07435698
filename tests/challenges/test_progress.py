"""Challenges advanced by the outbox handler, end to end on the test database: a count goal to
completion with exactly one reward under duplicate delivery, a month rolling over at the
program's local midnight, a weekly streak across a year boundary, a missed week resetting a
streak, reviews and custom events, and what a return does (nothing)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from patron.campaigns.custom_events import record_event
from patron.campaigns.event_schemas import CustomEventCreate
from patron.challenges import service
from patron.challenges.handlers import advance_on_event
from patron.kit.db import Database
from patron.kit.outbox import EventEnvelope
from patron.ledger.verify import verify
from patron.programs import service as program_service
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate
from tests.campaigns.triggers import coupons
from tests.challenges.setup import (
    apply_program,
    badges,
    buy,
    challenge_credits,
    dispatch,
    enrol,
    events,
    program_text,
    progress,
)

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    """A UTC moment (Moscow is UTC+3)."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def _recorded(program_id: int, member_id: int, purchase_id: int, at: datetime) -> EventEnvelope:
    return EventEnvelope(
        id=1,
        type="purchases.recorded",
        version=1,
        program_id=program_id,
        member_id=member_id,
        occurred_at=at,
        data={"member_id": member_id, "purchase_id": purchase_id, "occurred_at": at.isoformat()},
    )


def _review(program_id: int, member_id: int, review_id: int, at: datetime) -> EventEnvelope:
    return EventEnvelope(
        id=review_id,
        type="reviews.created",
        version=1,
        program_id=program_id,
        member_id=member_id,
        occurred_at=at,
        data={"member_id": member_id, "review_id": review_id},
    )


async def _share_story(database: Database, member_id: int, key: str, at: datetime) -> None:
    """Post the member's custom event ``story_shared`` (``POST /events``' service)."""
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="default")
        data = CustomEventCreate.model_validate(
            {
                "member_id": member_id,
                "type": "story_shared",
                "occurred_at": at.isoformat(),
                "idempotency_key": key,
            }
        )
        await record_event(session, active=active, data=data, now=at)


async def _handle(database: Database, envelope: EventEnvelope) -> None:
    async with database.write() as session:
        await advance_on_event(session, envelope)


async def test_five_coffees_complete_the_month_once_under_duplicate_delivery(
    database: Database,
) -> None:
    program_id = await apply_program(database, START)
    ann = await enrol(database, program_id, "ann", START)
    purchases = []
    for day in range(1, 5):
        at = _at(f"2026-12-0{day}")
        purchases.append((await buy(database, ann, f"c{day}", at), at))
    await buy(database, ann, "tea", _at("2026-12-05"), category="tea")  # not coffee
    await dispatch(database, _at("2026-12-05"))
    assert (await progress(database, ann))[("coffee-month", "2026-12")] == (4, False)
    assert await challenge_credits(database) == []

    fifth = _at("2026-12-06")
    purchases.append((await buy(database, ann, "c5", fifth), fifth))
    await dispatch(database, fifth)
    assert (await progress(database, ann))[("coffee-month", "2026-12")] == (5, True)
    key = f"challenge:coffee-month:{ann}:2026-12"
    assert await challenge_credits(database) == [(ann, "coffee-month", 150, key)]
    assert await badges(database, ann) == ["coffee-lover"]
    completed = await events(database, "challenges.completed")
    assert [(e["challenge_key"], e["period_key"], e["points"]) for e in completed] == [
        ("coffee-month", "2026-12", 150)
    ]
    assert completed[0]["badge_key"] == "coffee-lover"
    earned = await events(database, "badges.earned")
    assert earned == [
        {"member_id": ann, "badge_key": "coffee-lover", "challenge_key": "coffee-month"}
    ]

    # every purchase delivered again (a dispatch again, an operator's retry) counts nothing more
    for purchase_id, at in purchases:
        await _handle(database, _recorded(program_id, ann, purchase_id, at))
    await dispatch(database, _at("2026-12-06", 12))
    assert (await progress(database, ann))[("coffee-month", "2026-12")] == (5, True)
    assert await challenge_credits(database) == [(ann, "coffee-month", 150, key)]
    assert len(await events(database, "challenges.completed")) == 1
    assert len(await events(database, "badges.earned")) == 1

    # a sixth coffee counts, and completes nothing again
    await buy(database, ann, "c6", _at("2026-12-07"))
    await dispatch(database, _at("2026-12-07"))
    assert (await progress(database, ann))[("coffee-month", "2026-12")] == (6, True)
    assert len(await challenge_credits(database)) == 1
    async with database.read() as session:
        assert await verify(session, now=_at("2026-12-08")) == []


async def test_the_month_rolls_over_at_local_midnight_and_completes_again(
    database: Database,
) -> None:
    program_id = await apply_program(database, START)
    bob = await enrol(database, program_id, "bob", START)
    for day in range(24, 29):
        await buy(database, bob, f"d{day}", _at(f"2026-12-{day}"))
    await dispatch(database, _at("2026-12-29"))
    # 21:30 UTC on 31 December is 00:30 on 1 January in Moscow: the new month
    await buy(database, bob, "new-year", _at("2026-12-31", 21, 30))
    await buy(database, bob, "old-year", _at("2026-12-31", 20, 30))  # 23:30 in Moscow
    await dispatch(database, _at("2026-12-31", 22))
    got = await progress(database, bob)
    assert got[("coffee-month", "2026-12")] == (6, True)
    assert got[("coffee-month", "2027-01")] == (1, False)
    for day in range(2, 6):
        await buy(database, bob, f"j{day}", _at(f"2027-01-0{day}"))
    await dispatch(database, _at("2027-01-06"))
    assert (await progress(database, bob))[("coffee-month", "2027-01")] == (5, True)
    assert [(k, p, i) for _, k, p, i in await challenge_credits(database)] == [
        ("coffee-month", 150, f"challenge:coffee-month:{bob}:2026-12"),
        ("coffee-month", 150, f"challenge:coffee-month:{bob}:2027-01"),
    ]
    # the badge is earned once, ever
    assert await badges(database, bob) == ["coffee-lover"]
    assert len(await events(database, "badges.earned")) == 1
    assert len(await events(database, "challenges.completed")) == 2


async def test_a_weekly_streak_across_the_year_boundary(database: Database) -> None:
    program_id = await apply_program(database, START)
    cat = await enrol(database, program_id, "cat", START)
    # Sunday 20 December 23:30 in Moscow: the week of Monday 14 December
    await buy(database, cat, "w1", _at("2026-12-20", 20, 30), category="tea")
    # Monday 21 December 00:10 in Moscow, forty minutes later: the next week
    await buy(database, cat, "w2", _at("2026-12-20", 21, 10), category="tea")
    await buy(database, cat, "w3", _at("2026-12-31"), category="tea")  # ISO week 2026-W53
    await dispatch(database, _at("2027-01-01"))
    assert (await progress(database, cat))[("weekly", "lifetime")] == (3, False)
    # Monday 4 January 00:30 in Moscow (ISO week 2027-W01): the fourth week in a row
    await buy(database, cat, "w4", _at("2027-01-03", 21, 30), category="tea")
    await dispatch(database, _at("2027-01-04"))
    assert (await progress(database, cat))[("weekly", "lifetime")] == (4, True)
    assert await challenge_credits(database) == [
        (cat, "weekly", 400, f"challenge:weekly:{cat}:lifetime")
    ]
    assert await badges(database, cat) == ["regular"]


async def test_a_missed_week_resets_the_streak(database: Database) -> None:
    program_id = await apply_program(database, START)
    dan = await enrol(database, program_id, "dan", START)
    await buy(database, dan, "a", _at("2026-12-08"), category="tea")  # week of 7 Dec
    await buy(database, dan, "b", _at("2026-12-09"), category="tea")  # the same week
    await buy(database, dan, "c", _at("2026-12-15"), category="tea")  # week of 14 Dec
    await dispatch(database, _at("2026-12-16"))
    assert (await progress(database, dan))[("weekly", "lifetime")] == (2, False)
    # nothing in the week of 21 December
    for n, day in enumerate(("2026-12-29", "2027-01-05", "2027-01-12")):
        await buy(database, dan, f"d{n}", _at(day), category="tea")
    await dispatch(database, _at("2027-01-13"))
    assert (await progress(database, dan))[("weekly", "lifetime")] == (3, False)
    assert await challenge_credits(database) == []
    async with database.read() as session:
        active = await program_service.get_active_program(session, key="default")
        now = await service.member_challenges(
            session, active=active, member_id=dan, now=_at("2027-01-20"), language="en"
        )
        weekly = next(item for item in now if item.key == "weekly")
        assert (weekly.count, weekly.target, weekly.goal) == (3, 4, "streak")
        # a whole calendar week (from 18 January) passed without a purchase: broken
        later = await service.member_challenges(
            session, active=active, member_id=dan, now=_at("2027-01-26"), language="en"
        )
        assert next(item for item in later if item.key == "weekly").count == 0
    # a purchase late in arriving that fills the missed week joins the runs: 6 weeks in a row
    await buy(database, dan, "late", _at("2026-12-22"), category="tea")
    await dispatch(database, _at("2027-01-13", 12))
    assert (await progress(database, dan))[("weekly", "lifetime")] == (6, True)


async def test_reviews_and_custom_events_count(database: Database) -> None:
    program_id = await apply_program(database, START)
    eve = await enrol(database, program_id, "eve", START)
    at = _at("2026-12-10")
    for review_id in (11, 12, 12, 13):  # review 12 delivered twice
        await _handle(database, _review(program_id, eve, review_id, at))
    assert (await progress(database, eve))[("critic", "lifetime")] == (3, True)
    assert await badges(database, eve) == ["critic"]
    assert await challenge_credits(database) == []  # the critic gives a badge only
    completed = await events(database, "challenges.completed")
    assert [(e["challenge_key"], e["points"], e["entry_id"]) for e in completed] == [
        ("critic", 0, None)
    ]

    # a custom event type that only a challenge names is accepted and counted
    for n in (1, 2, 2):
        await _share_story(database, eve, f"share-{n}", at)
    await dispatch(database, at)
    assert (await progress(database, eve))[("sharer", "lifetime")] == (2, True)
    assert await challenge_credits(database) == [
        (eve, "sharer", 20, f"challenge:sharer:{eve}:lifetime")
    ]
    assert len(await events(database, "events.recorded")) == 2


async def test_a_return_takes_nothing_back(database: Database) -> None:
    program_id = await apply_program(database, START)
    fay = await enrol(database, program_id, "fay", START)
    last = 0
    for day in range(1, 6):
        last = await buy(database, fay, f"f{day}", _at(f"2026-12-0{day}"))
    await dispatch(database, _at("2026-12-06"))
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="default")
        data = ReturnCreate.model_validate({"external_id": "r1", "amount": "300.00"})
        await record_return(
            session, active=active, purchase_id=last, data=data, now=_at("2026-12-07")
        )
    await dispatch(database, _at("2026-12-07"))
    assert (await progress(database, fay))[("coffee-month", "2026-12")] == (5, True)
    assert len(await challenge_credits(database)) == 1
    assert await badges(database, fay) == ["coffee-lover"]


async def test_the_same_event_handled_at_once_twice_rewards_once(database: Database) -> None:
    """Two runs of the completing purchase's event at the same time (two workers, on
    PostgreSQL truly concurrent): the member's account lock orders them, and the second finds
    the step written."""
    program_id = await apply_program(database, START)
    gus = await enrol(database, program_id, "gus", START)
    for day in range(1, 5):
        await buy(database, gus, f"g{day}", _at(f"2026-12-0{day}"))
    await dispatch(database, _at("2026-12-05"))
    fifth = _at("2026-12-05")
    purchase_id = await buy(database, gus, "g5", fifth)
    envelope = _recorded(program_id, gus, purchase_id, fifth)
    await asyncio.gather(_handle(database, envelope), _handle(database, envelope))
    assert (await progress(database, gus))[("coffee-month", "2026-12")] == (5, True)
    assert len(await challenge_credits(database)) == 1
    await dispatch(database, _at("2026-12-06"))  # the outbox's own delivery of the same event
    assert (await progress(database, gus))[("coffee-month", "2026-12")] == (5, True)
    assert len(await challenge_credits(database)) == 1
    assert len(await events(database, "challenges.completed")) == 1


COUPON_FOR_STORIES = """
challenges:
  - key: storyteller
    name: {en: "Share three stories this month"}
    period: month
    goal: {count: 3, of: event, event: story_shared}
    reward: {bonus_points: 30, issue_reward: {reward: DISC10}}
"""


async def test_a_completed_challenge_gives_its_coupon_once_per_period(database: Database) -> None:
    program_id = await apply_program(database, START, program_text(COUPON_FOR_STORIES))
    eve = await enrol(database, program_id, "eve", START)

    async def share(n: int, day: str) -> None:
        await _share_story(database, eve, f"story-{n}", _at(day))
        await dispatch(database, _at(day))

    for n, day in enumerate(["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]):
        await share(n, day)
    await share(9, "2027-01-05")  # January counts on its own: one of three
    # every event handled again (an operator's retry): nothing twice
    for event in await events(database, "events.recorded"):
        await _handle(
            database,
            EventEnvelope(
                id=1,
                type="events.recorded",
                version=1,
                program_id=program_id,
                member_id=eve,
                occurred_at=_at("2027-01-06"),
                data=event,
            ),
        )
    assert await coupons(database) == [
        (eve, "DISC10", 0, f"deferred:{eve}:challenge:2026-12:storyteller:0")
    ]
    assert await challenge_credits(database) == [
        (eve, "storyteller", 30, f"challenge:storyteller:{eve}:2026-12")
    ]
    granted = await events(database, "rewards.granted")
    assert [(g["source"], g["source_id"], g["purchase_id"]) for g in granted] == [
        ("challenge", "storyteller", None)
    ]
    completed = await events(database, "challenges.completed")
    assert [(e["period_key"], e["points"], e["reward_key"]) for e in completed] == [
        ("2026-12", 30, "DISC10")
    ]
