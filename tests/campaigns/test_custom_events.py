"""Custom events (``POST /events``' service): the campaigns that name the type give their points
and keep their limits and budgets; a retry with the same ``idempotency_key`` answers the first
result and credits nothing; another body with that key is a conflict; an unknown type, an
unknown member and a moment too far ahead are refused and write nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from patron.campaigns import views
from patron.campaigns.custom_events import RecordedEvent, record_event
from patron.campaigns.errors import EventInFutureError, UnknownEventTypeError
from patron.campaigns.event_schemas import CustomEventCreate
from patron.campaigns.models import CustomEvent
from patron.kit.db import Database
from patron.kit.errors import IdempotencyConflictError
from patron.members.errors import MemberNotFoundError
from tests.campaigns.triggers import (
    NOW,
    active,
    apply_program,
    awards,
    campaign_credits,
    credited_events,
    enrol,
)


def _event(key: str, kind: str = "social_share", **fields: Any) -> CustomEventCreate:
    body: dict[str, Any] = {
        "member_external_id": "ann",
        "type": kind,
        "occurred_at": NOW.isoformat(),
        "idempotency_key": key,
        "attributes": {"network": "vk"},
    }
    return CustomEventCreate.model_validate({**body, **fields})


async def _post(database: Database, data: CustomEventCreate, now: datetime = NOW) -> RecordedEvent:
    program = await active(database)
    async with database.write() as session:
        return await record_event(session, active=program, data=data, now=now)


async def _events(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(CustomEvent)) or 0)


async def test_an_event_credits_its_campaign_and_a_retry_credits_nothing(
    database: Database,
) -> None:
    program_id = await apply_program(database)
    member = await enrol(database, program_id, "ann")
    first = await _post(database, _event("share-1"))
    assert first.created
    assert first.event.points == 50
    assert first.event.member_id == member
    assert [(c.key, c.applied, c.points, c.reason) for c in first.event.campaigns] == [
        ("share", True, 50, None)
    ]
    retry = await _post(database, _event("share-1"))
    assert not retry.created
    assert retry.event == first.event
    assert await campaign_credits(database) == [
        (member, "share", 50, f"campaign:share:{member}:event:{first.event.id}")
    ]
    assert await credited_events(database) == [(member, 50)]
    assert await _events(database) == 1


async def test_the_per_member_limit_and_the_budget_hold(database: Database) -> None:
    program_id = await apply_program(database)
    await enrol(database, program_id, "ann")
    for name in ("bob", "cid", "dan"):
        await enrol(database, program_id, name)
    second = await _post(database, _event("share-2"))
    again = await _post(database, _event("share-3"))  # a second share the same day
    assert (second.event.points, again.event.points) == (50, 0)
    assert again.event.campaigns[0].reason == "limit reached: already applied 1 of 1 times per day"
    tomorrow = NOW + timedelta(days=1)
    next_day = await _post(
        database, _event("share-4", occurred_at=tomorrow.isoformat()), now=tomorrow
    )
    assert next_day.event.points == 50
    # app.installed: once per member, from a budget of 400 (two installs)
    results = [
        await _post(database, _event(f"install-{name}", "app.installed", member_external_id=name))
        for name in ("ann", "bob", "cid", "dan")
    ]
    assert [r.event.points for r in results] == [200, 200, 0, 0]
    assert (
        results[2].event.campaigns[0].reason == "budget used up: 0 of 400 points left, 200 needed"
    )
    program = await active(database)
    async with database.read() as session:
        install = await views.campaign_stats(session, active=program, key="install", now=NOW)
        share = await views.campaign_stats(session, active=program, key="share", now=NOW)
    assert (install.participants, install.applications, install.points_spent) == (2, 2, 400)
    assert install.budget_left == 0
    assert (share.participants, share.applications, share.points_spent) == (1, 2, 100)
    assert len(await awards(database)) == 4


async def test_a_paused_campaign_records_the_event_and_gives_nothing(database: Database) -> None:
    program_id = await apply_program(database)
    await enrol(database, program_id, "ann")
    recorded = await _post(database, _event("profile-1", "profile_completed"))
    assert recorded.created
    assert recorded.event.points == 0
    assert [(c.key, c.reason) for c in recorded.event.campaigns] == [
        ("old-share", "not running at this moment")
    ]
    assert await campaign_credits(database) == []


async def test_another_body_with_the_same_key_is_a_conflict(database: Database) -> None:
    program_id = await apply_program(database)
    await enrol(database, program_id, "ann")
    await _post(database, _event("share-1"))
    with pytest.raises(IdempotencyConflictError) as caught:
        await _post(database, _event("share-1", attributes={"network": "tg"}))
    assert caught.value.field == "idempotency_key"
    assert len(await campaign_credits(database)) == 1


async def test_refusals_write_nothing(database: Database) -> None:
    program_id = await apply_program(database)
    await enrol(database, program_id, "ann")
    with pytest.raises(UnknownEventTypeError) as unknown:
        await _post(database, _event("x-1", "tiktok_dance"))
    assert (unknown.value.code, unknown.value.field) == ("unknown_event_type", "type")
    assert "app.installed, profile_completed, social_share" in unknown.value.message
    with pytest.raises(MemberNotFoundError):
        await _post(database, _event("x-2", member_external_id="nobody"))
    with pytest.raises(MemberNotFoundError):
        await _post(database, _event("x-3", member_external_id=None, member_id=999_999))
    ahead = (NOW + timedelta(minutes=11)).isoformat()  # the seed allows 10 minutes
    with pytest.raises(EventInFutureError) as future:
        await _post(database, _event("x-4", occurred_at=ahead))
    assert future.value.field == "occurred_at"
    assert await _events(database) == 0
    assert await campaign_credits(database) == []


def test_the_body_names_exactly_one_member() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        _event("k", member_id=1)
    with pytest.raises(ValueError, match="exactly one"):
        _event("k", member_external_id=None)


ON_PHONES = """
  - key: app-share
    name: {en: Share from the app}
    window: {start: "2026-12-01", end: "2027-12-31"}
    trigger: event
    event: social_share
    when: {event_attribute_in: {platform: [ios, android], beta: [true]}}
    effect: {bonus_points: 40}
"""


async def test_a_campaign_reads_the_events_attributes(database: Database) -> None:
    program_id = await apply_program(database, ON_PHONES)
    member = await enrol(database, program_id, "ann")
    phone = await _post(database, _event("s-1", attributes={"platform": "ios", "beta": True}))
    web = await _post(database, _event("s-2", attributes={"platform": "web", "beta": True}))
    one = await _post(database, _event("s-3", attributes={"platform": "android", "beta": 1}))
    missing = await _post(database, _event("s-4", attributes={"platform": "android"}))
    assert [e.event.points for e in (phone, web, one, missing)] == [40, 0, 0, 0]
    reasons = {e.event.campaigns[0].reason for e in (web, one, missing)}
    assert reasons == {"conditions not met: event_attribute_in"}
    assert await campaign_credits(database) == [
        (member, "app-share", 40, f"campaign:app-share:{member}:event:{phone.event.id}")
    ]
