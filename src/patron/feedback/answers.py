"""Answering a survey through its link: read the form, then submit it once.

A submission claims the invitation with a conditional UPDATE (not answered, not expired), so
that two concurrent submissions of one link store one response. Completing a survey earns its
`points` once per survey and member: the member's account is locked, earlier rewarded
responses are looked up, and the ledger credit's idempotency key
(`survey:{survey_id}:member:{member_id}`) settles any race. Free-text answers are stored
unanalysed; `analysis_jobs.analyse_pending` analyses them in batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.awards.service import award
from patron.feedback.errors import (
    AnswerInvalidError,
    InvitationExpiredError,
    InvitationNotFoundError,
    InvitationUsedError,
)
from patron.feedback.events import SurveysAnswered
from patron.feedback.models import Survey, SurveyAnswer, SurveyInvitation, SurveyResponse
from patron.feedback.repository import SurveyRepository
from patron.kit.outbox import emit
from patron.kit.text import ascii_digits
from patron.ledger.sources import LedgerSource
from patron.members.models import MemberStatus
from patron.programs import service as program_service
from patron.programs.feedback_settings import Question, QuestionKind

MAX_TEXT = 2000
DETRACTOR_AT_MOST = 6


@dataclass(frozen=True)
class SurveyForm:
    """What the answer page shows: the survey's questions in the member's language."""

    token: str
    survey_name: str
    language: str
    questions: tuple[Question, ...]
    expires_at: datetime


@dataclass(frozen=True)
class Submitted:
    response_id: int
    language: str
    points: int


async def _load(session: AsyncSession, token: str) -> tuple[SurveyInvitation, Survey, str]:
    repository = SurveyRepository(session)
    invitation = await repository.invitation_by_token(token) if len(token) <= 64 else None
    if invitation is None:
        raise InvitationNotFoundError()
    survey = await repository.by_id(invitation.survey_id)
    member = await repository.member(invitation.member_id)
    if survey is None or member is None:
        raise InvitationNotFoundError()
    language = member.language.value if member.language is not None else None
    if language is None:
        active = await program_service.get_active_program(session)
        language = active.program.program.default_language.value
    return invitation, survey, language


def _check_open(invitation: SurveyInvitation, now: datetime) -> None:
    if invitation.answered_at is not None:
        raise InvitationUsedError()
    if invitation.expires_at <= now:
        raise InvitationExpiredError()


async def link_language(session: AsyncSession, *, token: str) -> str | None:
    """The language of the link's member (for the error pages), None for an unknown token."""
    try:
        _, _, language = await _load(session, token)
    except InvitationNotFoundError:
        return None
    return language


async def open_form(session: AsyncSession, *, token: str, now: datetime) -> SurveyForm:
    """The form of an open link; `invitation_not_found` (404), `invitation_used` or
    `invitation_expired` (409) otherwise."""
    invitation, survey, language = await _load(session, token)
    _check_open(invitation, now)
    questions = tuple(Question.model_validate(question) for question in survey.questions)
    return SurveyForm(token, survey.name, language, questions, invitation.expires_at)


def parse_answers(
    questions: tuple[Question, ...], values: Mapping[str, str]
) -> list[tuple[Question, int | None, str | None]]:
    """Check a form: scores are whole numbers on the question's scale, texts at most
    `MAX_TEXT` characters, required questions answered. Unknown fields are ignored."""
    parsed: list[tuple[Question, int | None, str | None]] = []
    for question in questions:
        raw = (values.get(question.id) or "").strip()
        if not raw:
            if question.required:
                raise AnswerInvalidError("this question needs an answer", field=question.id)
            continue
        scale = question.kind.scale
        if scale is None:
            if len(raw) > MAX_TEXT:
                raise AnswerInvalidError(
                    f"at most {MAX_TEXT} characters, please",
                    field=question.id,
                    params={"most": MAX_TEXT},
                )
            parsed.append((question, None, raw))
            continue
        if not ascii_digits(raw) or not scale[0] <= int(raw) <= scale[1]:
            raise AnswerInvalidError(
                f"choose a score from {scale[0]} to {scale[1]}",
                field=question.id,
                params={"least": scale[0], "most": scale[1]},
            )
        parsed.append((question, int(raw), None))
    return parsed


async def submit(
    session: AsyncSession, *, token: str, values: Mapping[str, str], now: datetime
) -> Submitted:
    """Store the answers of an open link, once; credit the survey's points (see module)."""
    invitation, survey, language = await _load(session, token)
    _check_open(invitation, now)
    questions = tuple(Question.model_validate(question) for question in survey.questions)
    parsed = parse_answers(questions, values)
    repository = SurveyRepository(session)
    if not await repository.claim_invitation(invitation.id, now):
        await session.refresh(invitation)
        _check_open(invitation, now)
        raise InvitationUsedError()
    member = await repository.member(invitation.member_id)
    assert member is not None  # _load found it
    detractor = any(
        question.kind is QuestionKind.NPS and score is not None and score <= DETRACTOR_AT_MOST
        for question, score, _ in parsed
    )
    response = SurveyResponse(
        invitation_id=invitation.id,
        survey_id=survey.id,
        member_id=member.id,
        tier_id=member.tier_id,
        store=invitation.store,
        language=language,
        points=0,
        needs_follow_up=survey.follow_up_detractors and detractor,
        submitted_at=now,
    )
    await repository.add(response)
    await repository.add_all(
        [
            SurveyAnswer(
                response_id=response.id,
                survey_id=survey.id,
                member_id=member.id,
                question_id=question.id,
                kind=question.kind,
                score=score,
                text=text,
                keywords=[],
                submitted_at=now,
            )
            for question, score, text in parsed
        ]
    )
    if survey.points > 0 and member.status is MemberStatus.ACTIVE:
        await _reward(session, survey, response, now)
    answered = SurveysAnswered(member_id=member.id, survey_key=survey.key, response_id=response.id)
    await emit(session, answered, program_id=survey.program_id, occurred_at=now)
    return Submitted(response.id, language, response.points)


async def _reward(
    session: AsyncSession, survey: Survey, response: SurveyResponse, now: datetime
) -> None:
    """The survey's points, once per survey and member (the key says so)."""
    active = await program_service.get_active_program(session)
    awarded = await award(
        session,
        active=active,
        member_id=response.member_id,
        points=survey.points,
        source=LedgerSource.SURVEY,
        source_id=str(response.id),
        key=(survey.id, "member", response.member_id),
        now=now,
        description=f"survey {survey.key}",
    )
    if awarded.created and awarded.entry is not None:
        response.points = survey.points
        response.points_entry_id = awarded.entry.id
        await session.flush()
