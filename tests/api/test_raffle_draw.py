"""``POST /campaigns/{key}/draw`` (issue 12, part 2): the API draws a raffle as ``patron
campaigns draw`` does, once (a second call answers the recorded draw and gives nothing
again), and the winners receive the raffle's ``prize``: bonus points through the ledger or a
coupon of a reward, once per winner. Bad draws are 4xx with their code and field. On both
databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from patron.audit.models import AuditEntry
from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.ledger.models import entries
from patron.programs import service as program_service
from patron.programs.errors import ProgramInvalidError
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.rewards.models import Coupon
from patron.rules.vocabulary.prizes import draw_winners
from tests.api.conftest import Api
from tests.campaigns.programs import with_campaigns
from tests.purchases.bulk.factories import enrol

NOVEMBER = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)  # the raffles' window is over by now
CAMPAIGNS = """
  - key: points-raffle
    name: {en: "Points raffle"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    raffle: {per_purchase: 2, winners: 2, prize: {bonus_points: 700}}
  - key: coupon-raffle
    name: {en: "Coupon raffle"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    raffle: {per_purchase: 1, winners: 1, prize: {issue_reward: GIFT500}}
  - key: plain-raffle
    name: {en: "A raffle the shop hands over"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    raffle: {per_purchase: 1}
  - key: long-raffle
    name: {en: "A raffle still running"}
    window: {start: "2026-11-01", end: "2099-12-31"}
    raffle: {per_purchase: 1}
"""


async def _setup(api: Api) -> dict[str, int]:
    async with api.database.write() as session:
        applied = await program_service.apply_program(
            session, text=with_campaigns(CAMPAIGNS), created_by="test", now=NOVEMBER
        )
    members = await enrol(api.database, applied.program_id, ["ann", "bob", "cid"])
    for n, member in enumerate(["ann", "bob", "cid", "ann"]):
        await _buy(api.database, f"p-{n}", member)
    return members


async def _buy(database: Database, external_id: str, member: str) -> None:
    data = PurchaseCreate.model_validate(
        {
            "external_id": external_id,
            "member_external_id": member,
            "occurred_at": NOVEMBER.isoformat(),
            "currency": "RUB",
            "total": "100.00",
            "lines": [{"sku": "t", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
        }
    )
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        await record_purchase(session, active=active, data=data, now=NOVEMBER + timedelta(hours=1))


async def _raffle_points(database: Database, member_id: int) -> int:
    async with database.read() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(entries.c.amount), 0)).where(
                entries.c.member_id == member_id,
                entries.c.idempotency_key.like("campaign:points-raffle:raffle:%"),
            )
        )
    return int(total or 0)


async def test_the_api_draws_once_and_the_winners_get_the_points(api: Api) -> None:
    members = await _setup(api)
    drawn = await api.call("POST", "/campaigns/points-raffle/draw")
    assert drawn.status_code == 200, drawn.text
    body = drawn.json()
    assert (body["drawn"], body["entries"], body["prize"]) == (True, 8, {"bonus_points": 700})
    tickets = [(e["member_id"], e["entries"]) for e in body["entries_by_member"]]
    winners = [w["member_id"] for w in body["winners"]]
    assert winners == draw_winners(body["seed"], "points-raffle", tickets, 2)
    for member_id in members.values():
        assert await _raffle_points(api.database, member_id) == (700 if member_id in winners else 0)
    again = await api.call("POST", "/campaigns/points-raffle/draw", json={"winners": 3})
    assert again.status_code == 200
    assert again.json() == body  # the recorded draw, whatever winners says
    for member_id in winners:
        assert await _raffle_points(api.database, member_id) == 700  # given once
    shown = await api.call("GET", "/campaigns/points-raffle/raffle")
    assert shown.json()["winners"] == body["winners"]
    async with api.database.read() as session:
        drawn_events = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.type == "campaigns.raffle_drawn")
        )
        audit = list(
            await session.execute(
                select(AuditEntry.target, AuditEntry.changed)
                .where(AuditEntry.action == "campaigns.draw_raffle")
                .order_by(AuditEntry.id)
            )
        )
    assert drawn_events == 1
    assert [tuple(row) for row in audit] == [
        ("campaign:points-raffle", True),
        ("campaign:points-raffle", False),
    ]


async def test_a_coupon_prize_and_a_raffle_without_a_prize(api: Api) -> None:
    members = await _setup(api)
    drawn = await api.call("POST", "/campaigns/coupon-raffle/draw", json={"winners": 2})
    assert drawn.status_code == 200, drawn.text
    winners = [w["member_id"] for w in drawn.json()["winners"]]
    assert len(winners) == 2
    assert (await api.call("POST", "/campaigns/coupon-raffle/draw")).status_code == 200
    async with api.database.read() as session:
        coupons = list(
            await session.execute(
                select(Coupon.member_id, Coupon.reward_code).order_by(Coupon.member_id)
            )
        )
        granted = list(
            await session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.type == "rewards.granted")
            )
        )
    assert [tuple(c) for c in coupons] == [(m, "GIFT500") for m in sorted(winners)]
    assert (
        sorted((g["source"], g["source_id"], g["purchase_id"]) for g in granted)
        == [("raffle", "coupon-raffle", None)] * 2
    )
    plain = await api.call("POST", "/campaigns/plain-raffle/draw")
    assert plain.status_code == 200
    assert plain.json()["prize"] is None
    for member_id in members.values():
        assert await _raffle_points(api.database, member_id) == 0


async def test_bad_draws_are_refused_with_code_and_field(api: Api) -> None:
    await _setup(api)
    for path, body, status, code, field in (
        ("/campaigns/long-raffle/draw", None, 409, "raffle_not_ended", "key"),
        ("/campaigns/nope/draw", None, 404, "campaign_not_found", "key"),
        ("/campaigns/points-raffle/draw", {"winners": 0}, 422, "validation_error", "winners"),
        ("/campaigns/points-raffle/draw", {"winners": 1001}, 422, "validation_error", "winners"),
        ("/campaigns/points-raffle/draw", {"winners": "2"}, 422, "validation_error", "winners"),
    ):
        response = await api.call("POST", path, json=body)
        assert response.status_code == status, (path, body, response.text)
        error = response.json()["error"]
        assert (error["code"], error["field"]) == (code, field), (path, body)
    staff = await api.call("POST", "/campaigns/points-raffle/draw", "staff")
    assert staff.status_code == 403
    shown = await api.call("GET", "/campaigns/points-raffle/raffle")
    assert shown.json()["drawn"] is False  # nothing was drawn by the refused calls


async def test_a_prize_naming_an_unknown_reward_is_an_invalid_program(api: Api) -> None:
    text = with_campaigns(CAMPAIGNS.replace("GIFT500", "NOSUCH"))
    with pytest.raises(ProgramInvalidError) as refused:
        async with api.database.write() as session:
            await program_service.apply_program(session, text=text, created_by="test")
    assert any(
        "raffle.prize.issue_reward: 'NOSUCH' is not a reward code" in problem.format()
        for problem in refused.value.problems
    ), refused.value.problems


async def test_the_draw_answers_what_each_winner_received(api: Api) -> None:
    await _setup(api)
    drawn = (await api.call("POST", "/campaigns/points-raffle/draw")).json()
    assert [w["prize"] for w in drawn["winners"]] == [
        {
            "kind": "points",
            "given": True,
            "points": 700,
            "reward": None,
            "coupon_code": None,
            "amount": None,
            "amount_minor": None,
            "currency": None,
            "reason": None,
        }
    ] * 2
    assert (drawn["counted"], drawn["not_counted_purchases"]) == (4, 0)
    shown = (await api.call("GET", "/campaigns/points-raffle/raffle")).json()
    assert shown["winners"] == drawn["winners"]
    assert shown["entries_digest"] == drawn["entries_digest"]


async def test_a_shown_prize_seed_refuses_a_later_window_end(api: Api) -> None:
    lucky = """
  - key: lucky
    name: {en: "Lucky"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    prize: {probability: "0.5"}
    effect: {bonus_points: 10}
"""
    async with api.database.write() as session:
        await program_service.apply_program(
            session, text=with_campaigns(CAMPAIGNS + lucky), created_by="test", now=NOVEMBER
        )
    patch = {"window": {"start": "2026-11-01", "end": "2099-12-31"}}
    refused = await api.call("PATCH", "/campaigns/lucky", json=patch)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("program_invalid", "campaigns[4].window.end")
    assert "seed is shown" in error["message"]
    shown = (await api.call("GET", "/campaigns/lucky")).json()
    assert shown["window"]["end"] == "2026-11-30"  # nothing changed
