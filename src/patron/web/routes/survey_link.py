"""``/s/{token}``: the survey page a member reaches from an emailed link, without logging in.

The portal's survey form and words (``portal/survey.html``, ``portal/survey_done.html``, the
console catalogues), in the language the visitor picks with the switch, else the member's
(the link's), else the browser's. ``GET`` shows the questions, ``POST`` (a plain form post)
stores the answers once. A used link answers 409, an expired one 410, an unknown one 404,
each with a short page.

The ``POST`` needs no key, so it reads before it writes (issue 16): the link and the answers
are checked in a read-only unit of work, and a write (SQLite's one write lock) is taken only
for a valid form on an open link. A guessed token, a used or expired link or a form with a
field at fault never waits for the write lock nor holds it; the write checks the link again
(two posts of one form at once: one stores it, the other answers 409). The token is the
credential: there is no session, so no CSRF token (a forged post could only answer the
survey the link's holder was asked)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
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
from patron.web.auth import database_of, remember
from patron.web.member_auth import language_for
from patron.web.routes.portal_surveys import survey_questions
from patron.web.templating import render

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Path(min_length=1, max_length=200)]
MAX_BODY = 64 * 1024
_CLOSED = (InvitationNotFoundError, InvitationUsedError, InvitationExpiredError)
_STATUS = {InvitationNotFoundError: 404, InvitationUsedError: 409, InvitationExpiredError: 410}
_REASON = {InvitationNotFoundError: "link_unknown", InvitationUsedError: "link_used",
           InvitationExpiredError: "link_expired"}  # fmt: skip


def _form_page(
    request: Request,
    form: SurveyForm,
    values: dict[str, str],
    error_field: str | None,
    status_code: int = 200,
) -> Response:
    language_for(request, form.language)
    context = {
        "action": f"/s/{form.token}",
        "title": form.survey_name,
        "questions": survey_questions(request.state.language, form, values),
        "error_field": error_field,
    }
    page = render(request, "portal/survey.html", context, status_code=status_code)
    return remember(request, page)


async def _closed_page(request: Request, token: str, error: PatronError) -> Response:
    async with database_of(request).read() as session:
        language_for(request, await feedback_service.link_language(session, token=token))
    context = {"reason": _REASON[type(error)]}
    page = render(request, "portal/survey_done.html", context, status_code=_STATUS[type(error)])
    return remember(request, page)


async def _open_form(request: Request, token: str) -> SurveyForm | PatronError:
    """The link's form, or why it is closed (in a read: nothing is locked)."""
    async with database_of(request).read() as session:
        try:
            return await feedback_service.open_form(session, token=token, now=utcnow())
        except _CLOSED as error:
            return error


@router.get("/s/{token}")
async def show(request: Request, token: Token) -> Response:
    form = await _open_form(request, token)
    if isinstance(form, PatronError):
        return await _closed_page(request, token, form)
    return _form_page(request, form, {}, None)


@router.post("/s/{token}")
async def answer(request: Request, token: Token) -> Response:
    body = await request.body()
    parsed = parse_qs(body[:MAX_BODY].decode("utf-8", errors="replace"), keep_blank_values=True)
    values = {name: items[0] for name, items in parsed.items() if items}
    form = await _open_form(request, token)
    if isinstance(form, PatronError):
        return await _closed_page(request, token, form)
    try:
        feedback_service.parse_answers(form.questions, values)
    except AnswerInvalidError as error:
        return _form_page(request, form, values, error.field, 422)
    try:
        async with database_of(request).write() as writing:
            submitted = await feedback_service.submit(
                writing, token=token, values=values, now=utcnow()
            )
    except _CLOSED as error:  # used meanwhile, by another post
        return await _closed_page(request, token, error)
    language_for(request, submitted.language)
    context = {"reason": "link_thanks", "earned": submitted.points}
    return remember(request, render(request, "portal/survey_done.html", context))
