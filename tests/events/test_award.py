"""The award service: a survey bonus that crosses a threshold upgrades the tier at once, and
the bonus, its ``ledger.credited`` and ``tiers.changed`` events commit or roll back with the
answer; the ``tiers.upgrade_after_credit`` handler runs through the dispatcher."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from patron.feedback import service as feedback_service
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import OutboxEvent
from patron.members.models import Member
from patron.programs.feedback_settings import SurveyTrigger
from patron.worker import registry
from tests.feedback.factories import NOW, NPS_SURVEY, apply_program, enrol, program_text

BONUS = {**NPS_SURVEY, "points": 1000}  # Bronze's threshold in the seed program


async def _events(database: Database) -> list[tuple[str, dict[str, Any]]]:
    async with database.read() as session:
        rows = await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [(row.type, dict(row.payload)) for row in rows]


async def _tier(database: Database, member_id: int) -> str | None:
    async with database.read() as session:
        return await session.scalar(select(Member.tier_id).where(Member.id == member_id))


async def _setup(database: Database) -> tuple[int, str]:
    async with database.write() as session:
        active = await apply_program(session, text=program_text(surveys=[BONUS]))
        member = await enrol(session, active=active, external_id="m1")
        invitation = await feedback_service.invite(
            session,
            survey_key="nps",
            member_id=member,
            trigger=SurveyTrigger.MANUAL,
            source_ref="r1",
            now=NOW,
        )
    return member, invitation.token


async def test_a_survey_bonus_upgrades_the_tier(database: Database) -> None:
    member, token = await _setup(database)
    before = await _events(database)
    assert before[-1] == ("surveys.invited", before[-1][1])
    assert before[-1][1]["path"] == f"/s/{token}"
    async with database.write() as session:
        done = await feedback_service.submit(
            session, token=token, values={"nps": "9"}, now=NOW + timedelta(hours=1)
        )
    assert done.points == 1000
    assert await _tier(database, member) == "bronze"
    events = (await _events(database))[len(before) :]
    names = [name for name, _ in events]
    assert names == ["ledger.credited", "tiers.changed", "surveys.answered"]
    credited, changed = events[0][1], events[1][1]
    assert (credited["member_id"], credited["points"], credited["kind"]) == (member, 1000, "bonus")
    assert credited["source"] == "survey_response"
    assert changed == {
        "member_id": member,
        "from_tier": None,
        "to_tier": "bronze",
        "direction": "up",
        "reason": changed["reason"],
    }
    report = await dispatch_pending(database, registry.handlers())
    assert report.failed == 0
    assert await _tier(database, member) == "bronze"  # the handler finds nothing more to do
    assert [name for name, _ in await _events(database)].count("tiers.changed") == 1


async def test_the_events_roll_back_with_the_answer(database: Database) -> None:
    member, token = await _setup(database)
    before = await _events(database)

    async def answer_then_fail() -> None:
        async with database.write() as session:
            await feedback_service.submit(
                session, token=token, values={"nps": "9"}, now=NOW + timedelta(hours=1)
            )
            raise RuntimeError("the unit of work fails after the answer")

    with pytest.raises(RuntimeError):
        await answer_then_fail()
    assert await _events(database) == before
    assert await _tier(database, member) is None


async def test_the_handler_upgrades_after_a_credit_made_elsewhere(database: Database) -> None:
    """A credit that did not check the tier itself (emitted as the outbox helper's purchase
    path and adjustments do) is caught up by ``tiers.upgrade_after_credit``."""
    from patron.kit.outbox import emit
    from patron.ledger import service as ledger_service
    from patron.ledger.events import LedgerCredited
    from patron.ledger.kinds import EntryKind
    from patron.tiers.handlers import HANDLERS as TIER_HANDLERS

    member, _ = await _setup(database)
    async with database.write() as session:
        entry = await ledger_service.credit(
            session,
            member_id=member,
            amount=1200,
            kind=EntryKind.ADJUST,
            idempotency_key="test:adjust:1",
            source_type="adjustment",
            source_id="1",
            now=NOW,
        )
        event = LedgerCredited(
            member_id=member, entry_id=entry.id, kind="adjust", points=1200, source="adjustment"
        )
        program_id = await session.scalar(select(Member.program_id).where(Member.id == member))
        await emit(session, event, program_id=program_id, occurred_at=NOW)
    assert await _tier(database, member) is None
    report = await dispatch_pending(database, TIER_HANDLERS)  # the others would count too
    assert (report.handled, report.failed) == (1, 0)
    assert await _tier(database, member) == "bronze"
    assert [name for name, _ in await _events(database)][-1] == "tiers.changed"
