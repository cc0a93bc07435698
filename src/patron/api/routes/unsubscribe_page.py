"""``/u/{token}``: the unsubscribe page a message links to, outside ``/api/v1``.

``GET`` shows a one-button confirmation form in the member's language; ``POST`` revokes the
consent the signed token names. The ``POST`` needs no confirmation field, so the RFC 8058
one-click request of a mail client (``List-Unsubscribe=One-Click`` as a form body) works the
same as the button. An invalid link answers 404 with a short page in the browser's language
(``Accept-Language``: a link that names no member has no member's language). The ``POST``
needs no key, so it reads before it writes (issue 16): the token is checked in a read-only
unit of work, and only a valid one takes a write (SQLite's one write lock).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from patron.api.deps import DatabaseDep, Now, ReadSession
from patron.notifications import service as notification_service
from patron.notifications.errors import UnsubscribeLinkInvalidError
from patron.web.i18n import choose_language

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Path(min_length=1, max_length=200)]

_ENVIRONMENT = Environment(
    loader=PackageLoader("patron.api", "templates"),
    autoescape=select_autoescape(["html"]),
)
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Unsubscribe",
        "ask": "Stop receiving these messages by email?",
        "button": "Unsubscribe",
        "done_title": "You are unsubscribed",
        "done": "You will receive no more of these messages by email.",
        "invalid_title": "Link not valid",
        "invalid": "This unsubscribe link is not valid. Please check that it is complete.",
    },
    "ru": {
        "title": "Отписка",
        "ask": "Больше не получать эти письма?",
        "button": "Отписаться",
        "done_title": "Вы отписались",
        "done": "Эти письма больше не будут приходить.",
        "invalid_title": "Ссылка недействительна",
        "invalid": "Эта ссылка для отписки недействительна."
        " Проверьте, что она скопирована полностью.",
    },
    "pl": {
        "title": "Wypisanie",
        "ask": "Nie otrzymywać więcej tych wiadomości e-mail?",
        "button": "Wypisz mnie",
        "done_title": "Wypisano",
        "done": "Nie będziesz już otrzymywać tych wiadomości e-mail.",
        "invalid_title": "Nieprawidłowy link",
        "invalid": "Ten link do wypisania jest nieprawidłowy. Sprawdź, czy jest kompletny.",
    },
}


def _render(status: int, language: str, **values: Any) -> HTMLResponse:
    html = _ENVIRONMENT.get_template("unsubscribe.html").render(
        language=language, t=TEXTS.get(language, TEXTS["en"]), **values
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _invalid(request: Request) -> HTMLResponse:
    language = choose_language(None, None, request.headers.get("accept-language"))
    return _render(404, language, page="invalid")


@router.get("/u/{token}", response_class=HTMLResponse)
async def confirm(request: Request, token: Token, session: ReadSession) -> HTMLResponse:
    try:
        link = await notification_service.unsubscribe_link(session, token=token)
    except UnsubscribeLinkInvalidError:
        return _invalid(request)
    return _render(200, link.language, page="ask", token=token)


@router.post("/u/{token}", response_class=HTMLResponse)
async def unsubscribe(
    request: Request, token: Token, session: ReadSession, database: DatabaseDep, now: Now
) -> HTMLResponse:
    try:
        await notification_service.unsubscribe_link(session, token=token)
        async with database.write() as writing:
            done = await notification_service.unsubscribe(writing, token=token, now=now)
    except UnsubscribeLinkInvalidError:
        return _invalid(request)
    return _render(200, done.language, page="done")
