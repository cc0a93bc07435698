"""The member's open surveys in the portal (``/portal/surveys``): the invitations not answered
and not expired, each answered on a portal page with the same form and the same single
submission as the invitation's link (``/s/{token}``, :mod:`patron.feedback.answers`), so the
survey's points are earned once whichever way it is answered. The address names the
invitation, never its token; another member's invitation is as unknown as none."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from patron.feedback import service as feedback_service
from patron.feedback.answers import SurveyForm
from patron.feedback.errors import (
    AnswerInvalidError,
    InvitationExpiredError,
    InvitationNotFoundError,
    InvitationUsedError,
)
from patron.kit.errors import PatronError
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.web.auth import database_of, remember
from patron.web.member_auth import MemberVisit, checked_member_form
from patron.web.params import PageId
from patron.web.routes.portal import formats
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
InvitationId = PageId
_CLOSED = (InvitationNotFoundError, InvitationUsedError, InvitationExpiredError)
_STATUS = {InvitationNotFoundError: 404, InvitationUsedError: 409, InvitationExpiredError: 410}
_REASON = {InvitationNotFoundError: "unknown", InvitationUsedError: "used",
           InvitationExpiredError: "expired"}  # fmt: skip


@router.get("/portal/surveys")
async def surveys(request: Request, visit: MemberVisit) -> Response:
    now = utcnow()
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        found = await feedback_service.open_surveys(session, member_id=visit.member.id, now=now)
    context = {"surveys": found, "fmt": formats(request, active)}
    return remember(request, render(request, "portal/surveys.html", context))


def _scale_ends(language: str) -> dict[str, tuple[str, str]]:
    _ = gettext_for(language)
    return {
        "nps": (_("not at all likely"), _("extremely likely")),
        "csat": (_("very dissatisfied"), _("very satisfied")),
        "ces": (_("very difficult"), _("very easy")),
    }


def survey_questions(
    language: str, form: SurveyForm, values: dict[str, str]
) -> list[dict[str, Any]]:
    """The form's questions as the survey template shows them, in ``language``, with the
    ``values`` given before (a form shown again)."""
    ends = _scale_ends(language)
    questions: list[dict[str, Any]] = []
    for question in form.questions:
        scale = question.kind.scale
        wordings: dict[str, str] = dict(question.text.items())
        low, high = ends.get(question.kind.value, ("", ""))
        questions.append(
            {
                "id": question.id,
                "wording": wordings.get(language) or next(iter(wordings.values())),
                "required": question.required,
                "scale": list(range(scale[0], scale[1] + 1)) if scale else None,
                "low": low,
                "high": high,
                "value": values.get(question.id, ""),
            }
        )
    return questions


def _form_page(
    request: Request,
    invitation_id: int,
    form: SurveyForm,
    values: dict[str, str],
    error_field: str | None,
    status_code: int = 200,
) -> Response:
    questions = survey_questions(request.state.language, form, values)
    context = {
        "action": f"/portal/surveys/{invitation_id}",
        "title": form.survey_name,
        "questions": questions,
        "error_field": error_field,
    }
    return remember(
        request, render(request, "portal/survey.html", context, status_code=status_code)
    )


def _closed_page(request: Request, error: PatronError) -> Response:
    context = {"reason": _REASON[type(error)]}
    status_code = _STATUS[type(error)]
    return remember(
        request, render(request, "portal/survey_done.html", context, status_code=status_code)
    )


@router.get("/portal/surveys/{invitation_id}")
async def survey(request: Request, visit: MemberVisit, invitation_id: InvitationId) -> Response:
    async with database_of(request).read() as session:
        try:
            form = await feedback_service.member_form(
                session, member_id=visit.member.id, invitation_id=invitation_id, now=utcnow()
            )
        except _CLOSED as error:
            return _closed_page(request, error)
    return _form_page(request, invitation_id, form, {}, None)


@router.post("/portal/surveys/{invitation_id}")
async def answer(request: Request, visit: MemberVisit, invitation_id: InvitationId) -> Response:
    """Store the answers once (a second submit: "already answered"). The form and the
    invitation are checked in a read first, so a form at fault never takes the write lock."""
    values = await checked_member_form(request, visit)
    values.pop("csrf_token", None)
    database, now, member_id = database_of(request), utcnow(), visit.member.id
    async with database.read() as session:
        try:
            form = await feedback_service.member_form(
                session, member_id=member_id, invitation_id=invitation_id, now=now
            )
        except _CLOSED as error:
            return _closed_page(request, error)
    try:
        feedback_service.parse_answers(form.questions, values)
    except AnswerInvalidError as error:
        return _form_page(request, invitation_id, form, values, error.field, 422)
    try:
        async with database.write() as session:
            submitted = await feedback_service.member_submit(
                session, member_id=member_id, invitation_id=invitation_id, values=values, now=now
            )
    except _CLOSED as error:  # answered meanwhile, by another submit
        return _closed_page(request, error)
    context = {"reason": "thanks", "earned": submitted.points}
    return remember(request, render(request, "portal/survey_done.html", context))
