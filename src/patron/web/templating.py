"""Pages rendered from the Jinja2 templates of ``web/templates``, one environment per
language (gettext installed from that language's catalogue). HTML is always autoescaped.

Every page gets ``lang``, ``fmt`` (:class:`~patron.web.i18n.Formats`), ``points(n)`` (the
count with the right plural: ``5 баллов``), ``languages`` (the switch: each language with
the current address in it) and, once logged in, ``user`` (console) or ``visit`` (a member on
the portal) and the session's ``csrf_token``.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from patron.web.i18n import LANGUAGE_NAMES, LANGUAGES, Formats, translations
from patron.web.member_auth import frame_ancestors


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("patron.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def gettext_for(language: str) -> Any:
    """``_`` of ``language``, for texts made in Python (flash messages, error texts)."""
    return translations(language).gettext


def points_text(count: int, language: str) -> str:
    """``count`` points with the plural the language's rules choose."""
    catalogue = translations(language)
    text = catalogue.ngettext("%(num)s point", "%(num)s points", abs(count))
    return text % {"num": Formats(language).number(count)}


def language_links(request: Request, current: str) -> list[dict[str, Any]]:
    """The language switch: the current address with ``lang`` set to each language."""
    links = []
    for language in LANGUAGES:
        query = [(key, value) for key, value in request.query_params.multi_items() if key != "lang"]
        query.append(("lang", language))
        links.append(
            {
                "code": language,
                "name": LANGUAGE_NAMES[language],
                "href": f"{request.url.path}?{urlencode(query)}",
                "current": language == current,
            }
        )
    return links


# Every console page: scripts and styles from this site only (plotly and htmx add inline
# styles), never framed (clickjacking), not cached (pages show personal data), and no
# address sent to other sites.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


TOKEN_PATHS = ("/s/",)  # a survey link: its address holds the one-time token


def page_headers(path: str) -> dict[str, str]:
    """:data:`PAGE_HEADERS`; a portal page may be framed by the shop's origins when
    ``PATRON_PORTAL_FRAME_ANCESTORS`` names them (then without ``X-Frame-Options``, which
    cannot name an origin). Console pages are never framed."""
    if path.startswith(TOKEN_PATHS):
        # the page's address is its credential: sent to no one, not even this site
        return {**PAGE_HEADERS, "Referrer-Policy": "no-referrer"}
    origins = frame_ancestors() if path == "/portal" or path.startswith("/portal/") else []
    if not origins:
        return PAGE_HEADERS
    headers = {name: value for name, value in PAGE_HEADERS.items() if name != "X-Frame-Options"}
    headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors 'self' " + " ".join(origins)
    )
    return headers


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page ``template`` in the request's language (``request.state.language``)."""
    language: str = request.state.language
    console = getattr(request.state, "console", None)
    portal = getattr(request.state, "portal", None)  # a member's portal page
    csrf = console.csrf_token if console is not None else ""
    if portal is not None:
        csrf = portal.login.csrf_token
    values: dict[str, Any] = {
        "lang": language,
        "fmt": Formats(language),
        "points": lambda count: points_text(count, language),
        "languages": language_links(request, language),
        "user": console.user if console is not None else None,
        "csrf_token": csrf,
        "visit": portal,
        "path": request.url.path,
        **(context or {}),
    }
    body = environment(language).get_template(template).render(values)
    page = page_headers(request.url.path)
    return HTMLResponse(body, status_code=status_code, headers={**page, **(headers or {})})
