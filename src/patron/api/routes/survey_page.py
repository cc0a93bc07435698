"""``/s/{token}``: the survey answer page, outside ``/api/v1``.

A small server-rendered form in the member's language that works without login and without
JavaScript: ``GET`` shows the questions, ``POST`` (a plain form post) stores the answers once.
A used link answers 409, an expired one 410, an unknown one 404, each with a short page in
the member's language (English for an unknown link).

The ``POST`` needs no key, so it reads before it writes (issue 16): the link and the answers
are checked in a read-only unit of work, and a write (SQLite's one write lock) is taken only
for a valid form on an open link. A guessed token, a used or expired link or a form with a
field at fault never waits for the write lock nor holds it; the write checks the link again
(two posts of one form at once: one stores it, the other answers 409).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from patron.api.deps import DatabaseDep, Now, ReadSession
from patron.api.survey_texts import texts
from patron.feedback import service as feedback_service
from patron.feedback.answers import SurveyForm
from patron.feedback.errors import (
    AnswerInvalidError,
    InvitationExpiredError,
    InvitationNotFoundError,
    InvitationUsedError,
)
from patron.kit.errors import PatronError

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Path(min_length=1, max_length=200)]
MAX_BODY = 64 * 1024

_ENVIRONMENT = Environment(
    loader=PackageLoader("patron.api", "templates"),
    autoescape=select_autoescape(["html"]),
)
_STATUS: dict[type[PatronError], int] = {
    InvitationNotFoundError: 404,
    InvitationUsedError: 409,
    InvitationExpiredError: 410,
}
_PAGES: dict[type[PatronError], str] = {
    InvitationNotFoundError: "unknown",
    InvitationUsedError: "used",
    InvitationExpiredError: "expired",
}


def _render(status: int, **values: Any) -> HTMLResponse:
    html = _ENVIRONMENT.get_template("survey.html").render(**values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _form_page(
    form: SurveyForm, values: dict[str, str], error_field: str | None, status: int
) -> HTMLResponse:
    words = texts(form.language)
    questions = []
    for question in form.questions:
        scale = question.kind.scale
        wordings: dict[str, str] = dict(question.text.items())
        wording = wordings.get(form.language) or next(iter(wordings.values()))
        questions.append(
            {
                "id": question.id,
                "wording": wording,
                "required": question.required,
                "scale": list(range(scale[0], scale[1] + 1)) if scale else None,
                "low": words.get(f"{question.kind.value}_low", ""),
                "high": words.get(f"{question.kind.value}_high", ""),
                "value": values.get(question.id, ""),
            }
        )
    return _render(
        status,
        language=form.language,
        title=form.survey_name,
        t=words,
        token=form.token,
        questions=questions,
        error_field=error_field,
        message=None,
    )


async def _problem_page(session: AsyncSession, token: str, error: PatronError) -> HTMLResponse:
    language = await feedback_service.link_language(session, token=token)
    words = texts(language)
    page = _PAGES[type(error)]
    return _render(
        _STATUS[type(error)],
        language=language or "en",
        title=words[f"{page}_title"],
        message=words[page],
        extra=None,
    )


@router.get("/s/{token}", response_class=HTMLResponse)
async def show(token: Token, session: ReadSession, now: Now) -> HTMLResponse:
    try:
        form = await feedback_service.open_form(session, token=token, now=now)
    except (InvitationNotFoundError, InvitationUsedError, InvitationExpiredError) as error:
        return await _problem_page(session, token, error)
    return _form_page(form, {}, None, 200)


@router.post("/s/{token}", response_class=HTMLResponse)
async def answer(
    token: Token, request: Request, session: ReadSession, database: DatabaseDep, now: Now
) -> HTMLResponse:
    body = await request.body()
    parsed = parse_qs(body[:MAX_BODY].decode("utf-8", errors="replace"), keep_blank_values=True)
    values = {name: items[0] for name, items in parsed.items() if items}
    try:
        form = await feedback_service.open_form(session, token=token, now=now)
    except (InvitationNotFoundError, InvitationUsedError, InvitationExpiredError) as error:
        return await _problem_page(session, token, error)
    try:
        feedback_service.parse_answers(form.questions, values)
    except AnswerInvalidError as error:
        return _form_page(form, values, error.field, 422)
    try:
        async with database.write() as writing:
            submitted = await feedback_service.submit(writing, token=token, values=values, now=now)
    except (InvitationNotFoundError, InvitationUsedError, InvitationExpiredError) as error:
        return await _problem_page(session, token, error)  # used meanwhile, by another post
    words = texts(submitted.language)
    extra = words["points"].format(points=submitted.points) if submitted.points else None
    return _render(
        200,
        language=submitted.language,
        title=words["thanks_title"],
        message=words["thanks"],
        extra=extra,
    )
