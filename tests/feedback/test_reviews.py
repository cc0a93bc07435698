"""Reviews: capped points, idempotent creation, replies and response time, publishing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from tests.feedback.factories import NOW, apply_program, available, buy, counts, enrol


def review(member: int, rating: int = 5, **extra: object) -> schemas.ReviewCreate:
    return schemas.ReviewCreate.model_validate({"member_id": member, "rating": rating, **extra})


async def test_points_capped_per_member_per_month(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1")
        other = await enrol(session, active=active, external_id="m2")
    # NOW is 2026-03-02 12:00 Moscow: March has three reviews, April one.
    moments = [NOW, NOW + timedelta(days=1), NOW + timedelta(days=2), NOW + timedelta(days=31)]
    points = []
    for moment in moments:
        async with database.write() as session:
            created = await feedback_service.create_review(session, data=review(member), now=moment)
            points.append(created.points)
    async with database.write() as session:
        theirs = await feedback_service.create_review(session, data=review(other), now=NOW)
    assert points == [20, 20, 0, 20]
    assert theirs.points == 20
    async with database.read() as session:
        assert await available(session, member, NOW + timedelta(days=40)) == 60
        assert (await counts(session))["entries"] == 4


async def test_idempotent_create_and_conflict_changes_nothing(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1")
        purchase = await buy(session, active=active, member_id=member, external_id="o1", at=NOW)
        stranger = await enrol(session, active=active, external_id="m2")
    body = review(
        member, 4, text="Хороший чай", sku="TEA-1", purchase_id=purchase, idempotency_key="k1"
    )
    async with database.write() as session:
        first = await feedback_service.create_review(session, data=body, now=NOW)
    async with database.write() as session:
        again = await feedback_service.create_review(session, data=body, now=NOW)
        before = await counts(session)
    assert again == first
    assert (first.rating, first.text, first.sku, first.purchase_id, first.points) == (
        4,
        "Хороший чай",
        "TEA-1",
        purchase,
        20,
    )
    with pytest.raises(IdempotencyConflictError):
        async with database.write() as session:
            await feedback_service.create_review(
                session, data=review(member, 1, idempotency_key="k1"), now=NOW
            )
    with pytest.raises(InvalidInputError) as raised:
        async with database.write() as session:
            await feedback_service.create_review(
                session, data=review(stranger, 5, purchase_id=purchase), now=NOW
            )
    assert raised.value.field == "purchase_id"
    async with database.read() as session:
        assert await counts(session) == before


async def test_replies_response_time_publish_and_follow_up(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1")
        created = await feedback_service.create_review(
            session, data=review(member, 2, text="Slow delivery"), now=NOW
        )
    assert created.needs_follow_up is True
    assert (created.first_reply_at, created.response_seconds) == (None, None)
    async with database.write() as session:
        replied = await feedback_service.reply(
            session,
            review_id=created.id,
            text="Sorry!",
            author="anna",
            now=NOW + timedelta(hours=2),
            idempotency_key="r1",
        )
        retried = await feedback_service.reply(
            session,
            review_id=created.id,
            text="Sorry!",
            author="anna",
            now=NOW + timedelta(hours=3),
            idempotency_key="r1",
        )
        second = await feedback_service.reply(
            session,
            review_id=created.id,
            text="Fixed.",
            author="boris",
            now=NOW + timedelta(hours=5),
        )
        published = await feedback_service.publish(session, review_id=created.id, published=True)
    assert replied.response_seconds == 7200
    assert retried == replied
    assert second.first_reply_at == NOW + timedelta(hours=2)
    assert [(r.author, r.text) for r in second.replies] == [("anna", "Sorry!"), ("boris", "Fixed.")]
    assert published.is_published is True
    async with database.read() as session:
        page = await feedback_service.list_reviews(session, published=True)
        follow = await feedback_service.follow_ups(session)
    assert [item.id for item in page.items] == [created.id]
    assert [(f.kind, f.id, f.reason) for f in follow] == [
        (schemas.FollowUpKind.REVIEW, created.id, "negative_review")
    ]
