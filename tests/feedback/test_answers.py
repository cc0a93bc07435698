"""Answering through a link: single use, expiry, validation, points once per survey and
member (also under concurrency), detractor follow-ups."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.feedback.errors import (
    AnswerInvalidError,
    FollowUpNotFoundError,
    InvitationExpiredError,
    InvitationNotFoundError,
    InvitationUsedError,
)
from patron.kit.db import Database
from patron.members.models import Language
from patron.programs.feedback_settings import SurveyTrigger
from tests.feedback.factories import NOW, apply_program, available, counts, enrol


async def _invite(database: Database, member: int, ref: str, survey: str = "nps") -> str:
    async with database.write() as session:
        invitation = await feedback_service.invite(
            session,
            survey_key=survey,
            member_id=member,
            trigger=SurveyTrigger.MANUAL,
            source_ref=ref,
            now=NOW,
        )
    return invitation.token


async def _member(database: Database, language: Language | None = Language.PL) -> int:
    async with database.write() as session:
        active = await apply_program(session)
        return await enrol(session, active=active, external_id="m1", language=language)


async def test_form_in_member_language_then_single_use(database: Database) -> None:
    member = await _member(database)
    token = await _invite(database, member, "r1")
    async with database.read() as session:
        form = await feedback_service.open_form(session, token=token, now=NOW)
    assert (form.language, form.survey_name) == ("pl", "How did we do?")
    assert [q.id for q in form.questions] == ["nps", "why"]
    later = NOW + timedelta(hours=1)
    async with database.write() as session:
        done = await feedback_service.submit(
            session, token=token, values={"nps": "9", "why": "Dodajcie mleko owsiane"}, now=later
        )
    assert (done.language, done.points) == ("pl", 50)
    async with database.read() as session:
        before = await counts(session)
        assert await available(session, member, later) == 50
    with pytest.raises(InvitationUsedError):
        async with database.write() as session:
            await feedback_service.submit(session, token=token, values={"nps": "0"}, now=later)
    with pytest.raises(InvitationUsedError):
        async with database.read() as session:
            await feedback_service.open_form(session, token=token, now=later)
    async with database.read() as session:
        assert await counts(session) == before
        page = await feedback_service.list_responses(
            session, survey_key="nps", now=later, after=None, limit=10
        )
    [response] = page.items
    assert (response.member_id, response.points, response.needs_follow_up) == (member, 50, False)
    assert [(a.question_id, a.score, a.text) for a in response.answers] == [
        ("nps", 9, None),
        ("why", None, "Dodajcie mleko owsiane"),
    ]
    assert response.answers[1].analysis is not None
    assert response.answers[1].analysis.label is None  # analysed later, in batches


async def test_expired_and_unknown_links_change_nothing(database: Database) -> None:
    member = await _member(database)
    token = await _invite(database, member, "r1")
    expired_at = NOW + timedelta(days=14)
    async with database.read() as session:
        before = await counts(session)
    with pytest.raises(InvitationExpiredError):
        async with database.write() as session:
            await feedback_service.submit(session, token=token, values={"nps": "9"}, now=expired_at)
    with pytest.raises(InvitationNotFoundError):
        async with database.write() as session:
            await feedback_service.submit(session, token="nope", values={"nps": "9"}, now=NOW)
    async with database.read() as session:
        assert await counts(session) == before
        assert await available(session, member) == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [({"nps": "11"}, "nps"), ({"nps": "x"}, "nps"), ({"why": "no score"}, "nps"), ({}, "nps")],
)
async def test_invalid_answers_are_refused_and_the_link_stays_open(
    database: Database, values: dict[str, str], field: str
) -> None:
    member = await _member(database)
    token = await _invite(database, member, "r1")
    with pytest.raises(AnswerInvalidError) as raised:
        async with database.write() as session:
            await feedback_service.submit(session, token=token, values=values, now=NOW)
    assert raised.value.field == field
    async with database.write() as session:
        assert (await counts(session))["responses"] == 0
        done = await feedback_service.submit(session, token=token, values={"nps": "10"}, now=NOW)
    assert done.points == 50


async def test_points_once_per_survey_and_member(database: Database) -> None:
    member = await _member(database, language=None)
    first, second = await _invite(database, member, "r1"), await _invite(database, member, "r2")
    async with database.write() as session:
        done = await feedback_service.submit(session, token=first, values={"nps": "8"}, now=NOW)
    async with database.write() as session:
        again = await feedback_service.submit(session, token=second, values={"nps": "7"}, now=NOW)
    assert (done.points, again.points, done.language) == (50, 0, "ru")  # the program's language
    async with database.read() as session:
        assert await available(session, member) == 50
        assert (await counts(session))["entries"] == 1


async def test_concurrent_answers_of_two_links_credit_once(database: Database) -> None:
    member = await _member(database)
    tokens = [await _invite(database, member, f"r{n}") for n in range(2)]

    async def answer(token: str) -> int:
        async with database.write() as session:
            done = await feedback_service.submit(session, token=token, values={"nps": "9"}, now=NOW)
            return done.points

    points = await asyncio.gather(*(answer(token) for token in tokens))
    assert sorted(points) == [0, 50]
    async with database.read() as session:
        assert await available(session, member) == 50
        assert (await counts(session))["responses"] == 2


async def test_detractor_needs_follow_up_until_marked(database: Database) -> None:
    member = await _member(database)
    token = await _invite(database, member, "r1")
    async with database.write() as session:
        done = await feedback_service.submit(session, token=token, values={"nps": "6"}, now=NOW)
    async with database.read() as session:
        items = await feedback_service.follow_ups(session)
    assert [(i.kind, i.id, i.member_id, i.reason) for i in items] == [
        (schemas.FollowUpKind.SURVEY_RESPONSE, done.response_id, member, "nps_detractor")
    ]
    async with database.write() as session:
        await feedback_service.mark_followed_up(
            session, kind=schemas.FollowUpKind.SURVEY_RESPONSE, item_id=done.response_id, ref="t:1"
        )
        assert await feedback_service.follow_ups(session) == []
    with pytest.raises(FollowUpNotFoundError):
        async with database.write() as session:
            await feedback_service.mark_followed_up(
                session, kind=schemas.FollowUpKind.REVIEW, item_id=done.response_id, ref="t:1"
            )
