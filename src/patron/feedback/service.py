"""The feedback use cases in one place for callers (`feedback_service.invite(...)`).

Surveys and invitations: :mod:`~patron.feedback.surveys`; answering a link:
:mod:`~patron.feedback.answers`; reviews: :mod:`~patron.feedback.reviews`; KPIs:
:mod:`~patron.feedback.kpis`; text analysis of stored feedback, the problem table and
follow-ups: :mod:`~patron.feedback.insights`. Services never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.feedback import schemas
from patron.feedback.answers import link_language, open_form, parse_answers, submit
from patron.feedback.insights import (
    analyse_pending,
    analyze_texts,
    follow_up_of,
    follow_ups,
    mark_followed_up,
    problems,
)
from patron.feedback.kpis import csat_by_agent, kpis
from patron.feedback.member_surveys import member_form, member_submit, open_surveys
from patron.feedback.repository import SurveyRepository
from patron.feedback.reviews import create_review, get_review, list_reviews, publish, reply
from patron.feedback.surveys import (
    create_survey,
    get_survey,
    invite,
    invite_after_purchases,
    invite_for_trigger,
    invite_members,
    list_invitations,
    list_surveys,
    require_survey,
    update_survey,
)
from patron.feedback.views import response_view
from patron.kit.errors import InvalidInputError

__all__ = [
    "analyse_pending",
    "analyze_texts",
    "create_review",
    "create_survey",
    "csat_by_agent",
    "follow_up_of",
    "follow_ups",
    "get_review",
    "get_survey",
    "invite",
    "invite_after_purchases",
    "invite_for_trigger",
    "invite_members",
    "kpis",
    "latest_responses",
    "link_language",
    "list_invitations",
    "list_responses",
    "list_reviews",
    "list_surveys",
    "mark_followed_up",
    "member_form",
    "member_responses",
    "member_submit",
    "open_form",
    "open_surveys",
    "parse_answers",
    "problems",
    "publish",
    "reply",
    "submit",
    "update_survey",
]

MAX_PAGE = 200


async def list_responses(
    session: AsyncSession, *, survey_key: str, now: datetime, after: int | None, limit: int
) -> schemas.SurveyResponsePage:
    """A survey's responses with their answers (and the answers' analysis) in id order."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE},
        )
    survey = await require_survey(session, key=survey_key, now=now)
    repository = SurveyRepository(session)
    rows = await repository.responses(survey.id, after=after, limit=limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    answers = await repository.answers([row.id for row in rows])
    return schemas.SurveyResponsePage(
        items=[response_view(row, survey, answers[row.id]) for row in rows],
        next_after=rows[-1].id if has_more else None,
    )


async def member_responses(
    session: AsyncSession, *, member_id: int, limit: int = 20
) -> list[schemas.SurveyResponse]:
    """The member's survey responses with their answers, newest first (``limit`` 1..200)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE},
        )
    repository = SurveyRepository(session)
    rows = await repository.member_responses(member_id, limit)
    answers = await repository.answers([response.id for response, _ in rows])
    return [response_view(response, survey, answers[response.id]) for response, survey in rows]


async def latest_responses(
    session: AsyncSession, *, limit: int = 20
) -> list[schemas.SurveyResponse]:
    """The newest survey responses of every survey with their answers and the answers'
    analysis (sentiment, language, topic), newest first (``limit`` 1..200)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}",
            field="limit",
            params={"min": 1, "max": MAX_PAGE},
        )
    repository = SurveyRepository(session)
    rows = await repository.latest_responses(limit)
    answers = await repository.answers([response.id for response, _ in rows])
    return [response_view(response, survey, answers[response.id]) for response, survey in rows]
