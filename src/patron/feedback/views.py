"""Rows of the feedback tables turned into their read schemas."""

from __future__ import annotations

from patron.feedback import schemas
from patron.feedback.models import AnalysisColumns, Survey, SurveyAnswer, SurveyResponse


def analysis_view(row: AnalysisColumns) -> schemas.TextAnalysisView:
    return schemas.TextAnalysisView(
        language=row.language,
        label=row.label,
        probability=row.probability,
        keywords=list(row.keywords or []),
        topic=row.topic,
        severity=row.severity,
    )


def answer_view(answer: SurveyAnswer) -> schemas.Answer:
    return schemas.Answer(
        question_id=answer.question_id,
        kind=answer.kind,
        score=answer.score,
        text=answer.text,
        analysis=analysis_view(answer) if answer.text else None,
    )


def response_view(
    response: SurveyResponse, survey: Survey, answers: list[SurveyAnswer]
) -> schemas.SurveyResponse:
    return schemas.SurveyResponse(
        id=response.id,
        survey_key=survey.key,
        member_id=response.member_id,
        tier_id=response.tier_id,
        store=response.store,
        language=response.language,
        points=response.points,
        needs_follow_up=response.needs_follow_up,
        follow_up_ref=response.follow_up_ref,
        submitted_at=response.submitted_at,
        answers=[answer_view(answer) for answer in answers],
    )
