"""Survey definitions (program file and API) and invitations: idempotent, single-use links,
the after-purchase job."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.feedback.errors import SurveyDefinedInProgramError, SurveyExistsError
from patron.feedback.models import SurveySource
from patron.feedback.repository import SurveyRepository
from patron.feedback.surveys import invites_now_after_purchase
from patron.kit.db import Database
from patron.kit.errors import InvalidInputError
from patron.programs.feedback_settings import SurveyDefinition, SurveyTrigger
from tests.feedback.factories import (
    NOW,
    apply_program,
    buy,
    counts,
    enrol,
    program_text,
    segment_row,
)


async def test_program_surveys_are_synced_and_retired(database: Database) -> None:
    async with database.write() as session:
        await apply_program(session)
        surveys = await feedback_service.list_surveys(session, now=NOW)
    assert [(s.key, s.source, s.is_active, s.points) for s in surveys] == [
        ("csat", SurveySource.PROGRAM, True, 0),
        ("nps", SurveySource.PROGRAM, True, 50),
    ]
    assert [q.id for q in surveys[1].questions] == ["nps", "why"]
    async with database.write() as session:
        await apply_program(session, text=program_text(surveys=[]))
        later = await feedback_service.list_surveys(session, now=NOW + timedelta(hours=1))
    assert [(s.key, s.is_active) for s in later] == [("csat", False), ("nps", False)]


async def test_api_survey_create_update_and_program_surveys_are_read_only(
    database: Database,
) -> None:
    definition = SurveyDefinition.model_validate(
        {
            "key": "ces-app",
            "name": "App",
            "questions": [{"id": "ces", "kind": "ces", "text": {"pl": "Łatwo?"}}],
        }
    )
    async with database.write() as session:
        await apply_program(session)
        created = await feedback_service.create_survey(session, data=definition, now=NOW)
        assert (created.source, created.trigger, created.valid_days) == (
            SurveySource.API,
            SurveyTrigger.MANUAL,
            14,
        )
        with pytest.raises(SurveyExistsError):
            await feedback_service.create_survey(session, data=definition, now=NOW)
        updated = await feedback_service.update_survey(
            session, key="ces-app", data=schemas.SurveyUpdate(points=5, is_active=False), now=NOW
        )
        assert (updated.points, updated.is_active, updated.name) == (5, False, "App")
        with pytest.raises(SurveyDefinedInProgramError):
            await feedback_service.update_survey(
                session, key="nps", data=schemas.SurveyUpdate(points=1), now=NOW
            )
        assert (await feedback_service.get_survey(session, key="nps", now=NOW)).points == 50


async def test_invite_is_idempotent_per_source_ref(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1")
        first = await feedback_service.invite(
            session,
            survey_key="csat",
            member_id=member,
            trigger=SurveyTrigger.TICKET_RESOLVED,
            source_ref="ticket:7",
            now=NOW,
        )
        again = await feedback_service.invite(
            session,
            survey_key="csat",
            member_id=member,
            trigger=SurveyTrigger.TICKET_RESOLVED,
            source_ref="ticket:7",
            now=NOW + timedelta(minutes=5),
        )
        other = await feedback_service.invite_for_trigger(
            session,
            trigger=SurveyTrigger.TICKET_RESOLVED,
            member_id=member,
            source_ref="ticket:8",
            now=NOW,
        )
    assert first.created
    assert not again.created
    assert again.token == first.token
    assert again.id == first.id
    assert first.link == f"/s/{first.token}"
    assert len(first.token) >= 40
    assert first.expires_at == NOW + timedelta(days=14)
    assert [(i.survey_key, i.source_ref, i.created) for i in other] == [("csat", "ticket:8", True)]
    assert other[0].token != first.token


async def test_invite_members_by_list_and_tier(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        gold = await enrol(session, active=active, external_id="g", tier="gold")
        plain = await enrol(session, active=active, external_id="p")
        by_tier = await feedback_service.invite_members(
            session,
            survey_key="nps",
            request=schemas.InvitationRequest(tier="gold", source_ref="dec"),
            now=NOW,
        )
        by_list = await feedback_service.invite_members(
            session,
            survey_key="nps",
            request=schemas.InvitationRequest(member_ids=[gold, plain, 999], source_ref="dec"),
            now=NOW,
        )
    assert (by_tier.created, by_tier.existing) == (1, 0)
    assert [i.member_id for i in by_tier.invitations] == [gold]
    assert (by_list.created, by_list.existing) == (1, 1)
    assert [(i.member_id, i.created) for i in by_list.invitations] == [(gold, False), (plain, True)]


async def test_invite_members_of_a_segment(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        champion = await enrol(session, active=active, external_id="c")
        sleeper = await enrol(session, active=active, external_id="s")
        await enrol(session, active=active, external_id="x")  # no segment yet
        session.add(segment_row(champion, active.program_id, "champion"))
        session.add(segment_row(sleeper, active.program_id, "about_to_sleep"))
    async with database.write() as session:
        batch = await feedback_service.invite_members(
            session,
            survey_key="nps",
            request=schemas.InvitationRequest(segment="champion", source_ref="vip"),
            now=NOW,
        )
    assert [(i.member_id, i.created) for i in batch.invitations] == [(champion, True)]
    with pytest.raises(InvalidInputError):
        async with database.write() as session:
            await feedback_service.invite_members(
                session,
                survey_key="nps",
                request=schemas.InvitationRequest(tier="gold", segment="champion", source_ref="v"),
                now=NOW,
            )


async def test_after_purchase_job_invites_once_when_due(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1")
        purchase = await buy(session, active=active, member_id=member, external_id="o1", at=NOW)
        await buy(session, active=active, member_id=None, external_id="o2", at=NOW)  # type: ignore[arg-type]
    async with database.write() as session:
        early = await feedback_service.invite_after_purchases(session, now=NOW + timedelta(days=2))
    async with database.write() as session:
        due = await feedback_service.invite_after_purchases(
            session, now=NOW + timedelta(days=3, hours=1)
        )
    async with database.write() as session:
        again = await feedback_service.invite_after_purchases(session, now=NOW + timedelta(days=4))
        invitations = await feedback_service.list_invitations(
            session, survey_key="nps", pending_only=True, now=NOW + timedelta(days=4), limit=10
        )
        assert (await counts(session))["invitations"] == 1
    assert (early, due, again) == (0, 1, 0)
    assert [(i.member_id, i.source_ref, i.store) for i in invitations] == [
        (member, f"purchase:{purchase}", "msk-1")
    ]
    assert invitations[0].trigger is SurveyTrigger.AFTER_PURCHASE


async def test_the_dispatchers_screen_sees_an_own_immediate_after_purchase_survey(
    database: Database,
) -> None:
    """The after-purchase screen (``invites_now_after_purchase``) asks the table for an active
    survey made outside the program file, with the trigger and no delay."""

    def definition(key: str, delay_days: int) -> SurveyDefinition:
        return SurveyDefinition.model_validate(
            {
                "key": key,
                "name": key,
                "trigger": "after_purchase",
                "delay_days": delay_days,
                "questions": [{"id": "ces", "kind": "ces", "text": {"en": "Easy?"}}],
            }
        )

    async with database.write() as session:
        active = await apply_program(session, text=program_text(surveys=[]))
        repository = SurveyRepository(session)
        trigger = SurveyTrigger.AFTER_PURCHASE
        assert not await invites_now_after_purchase(session)
        await feedback_service.create_survey(session, data=definition("later", 3), now=NOW)
        assert not await repository.has_own_immediate(active.program_id, trigger)
        await feedback_service.create_survey(session, data=definition("now", 0), now=NOW)
        assert await repository.has_own_immediate(active.program_id, trigger)
        assert not await repository.has_own_immediate(active.program_id, SurveyTrigger.MANUAL)
        assert not await repository.has_own_immediate(active.program_id + 1, trigger)
        assert await invites_now_after_purchase(session)
        await feedback_service.update_survey(
            session, key="now", data=schemas.SurveyUpdate(is_active=False), now=NOW
        )
        assert not await repository.has_own_immediate(active.program_id, trigger)
