"""Messages rendered from Jinja templates, one set per language.

``templates/<language>/<kind>.subject.txt``, ``<kind>.txt`` and ``<kind>.html`` (which
extends ``<language>/layout.html``) make one message. Templates get the message's values and
four helpers bound to the language: ``points(n)`` (``5 баллов``), ``plural(n, word)``,
``money(minor)`` (in the program currency) and ``date(moment)`` (in the program's time zone).
HTML is autoescaped; plain text is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from patron.notifications import formatting

_ENVIRONMENT = Environment(
    loader=PackageLoader("patron.notifications", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
    # the templates ship with the package: no file-system check on every message
    auto_reload=False,
)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def language_of(language: str | None, default: str) -> str:
    """The member's language when templates exist for it, else the program's default, else
    English."""
    for candidate in (language, default):
        if candidate in formatting.LANGUAGES:
            return str(candidate)
    return "en"


def render(
    kind: str,
    language: str,
    values: dict[str, Any],
    *,
    currency: str = "EUR",
    timezone: str = "UTC",
) -> Rendered:
    """Render message ``kind`` in ``language`` with ``values``."""

    def money(minor: int) -> str:
        return formatting.money_amount(minor, currency, language)

    def day(moment: date | datetime) -> str:
        return formatting.day(moment, language, timezone)

    context = {
        **values,
        "language": language,
        "points": partial(formatting.points, language=language),
        "plural": lambda count, word: formatting.plural(count, word, language),
        "number": partial(formatting.number, language=language),
        "money": money,
        "date": day,
    }
    subject = _ENVIRONMENT.get_template(f"{language}/{kind}.subject.txt").render(context)
    context["subject"] = " ".join(subject.split())
    text = _ENVIRONMENT.get_template(f"{language}/{kind}.txt").render(context)
    html = _ENVIRONMENT.get_template(f"{language}/{kind}.html").render(context)
    return Rendered(context["subject"], text.strip() + "\n", html)
