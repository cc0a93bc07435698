"""The console's catalogues and formats: every message of the code and templates is in each
``.po`` file and translated in Polish and Russian; plurals, money and the language choice."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from patron.web.i18n import LANGUAGES, Formats, choose_language, translations
from patron.web.templating import points_text

WEB = Path(str(resources.files("patron.web")))
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def _extracted() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(WEB), METHODS, OPTIONS):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_in_the_catalogue_and_translated(language: str) -> None:
    extracted = _extracted()
    assert len(extracted) > 100
    path = WEB / "locales" / language / "LC_MESSAGES" / "console.po"
    with path.open("rb") as po_file:
        # abort_invalid: a merge that leaves a msgid without its msgstr fails here, not by
        # silently losing the entry when the catalogue is read leniently
        catalogue = read_po(po_file, locale=language, abort_invalid=True)
    ids = {message.id for message in catalogue if message.id}
    assert extracted - ids == set(), "run pybabel extract and update (docs/web.md)"
    if language == "en":
        return
    untranslated = [
        message.id
        for message in catalogue
        if message.id
        and (not message.string or (isinstance(message.string, tuple) and not all(message.string)))
    ]
    assert untranslated == []
    assert not [message.id for message in catalogue if message.fuzzy and message.id]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ru", ["1 балл", "2 балла", "5 баллов", "11 баллов", "21 балл", "1 234 балла"]),
        ("pl", ["1 punkt", "2 punkty", "5 punktów", "11 punktów", "22 punkty", "1 234 punkty"]),
        ("en", ["1 point", "2 points", "5 points", "11 points", "21 points", "1,234 points"]),
    ],
)
def test_points_take_the_languages_plural(language: str, expected: list[str]) -> None:
    shown = [
        points_text(count, language)
        for count in (1, 2, 5, 11, 21 if language != "pl" else 22, 1234)
    ]
    assert [text.replace("\xa0", " ").replace("\u202f", " ") for text in shown] == expected


def test_money_is_written_as_the_locale_writes_it() -> None:
    def plain(text: str) -> str:
        return text.replace("\xa0", " ").replace("\u202f", " ")

    assert plain(Formats("ru").money(123450, "RUB")) == "1 234,50 ₽"
    assert plain(Formats("pl").money(123450, "PLN")) == "1 234,50 zł"
    assert plain(Formats("en").money(123450, "EUR")) == "€1,234.50"
    assert plain(Formats("pl").amount("1234.50", "PLN")) == "1 234,50 zł"


@pytest.mark.parametrize(
    ("requested", "remembered", "header", "chosen"),
    [
        ("pl", "ru", "en", "pl"),
        (None, "ru", "pl", "ru"),
        ("xx", None, "de-DE,pl;q=0.8,ru;q=0.9", "ru"),
        (None, None, "ru-RU,ru;q=0.9,en;q=0.5", "ru"),
        (None, None, "de, fr;q=0.5", "en"),
        (None, None, "ru;q=0, pl", "pl"),
        (None, None, None, "en"),
    ],
)
def test_the_language_comes_from_the_switch_the_cookie_then_the_browser(
    requested: str | None, remembered: str | None, header: str | None, chosen: str
) -> None:
    assert choose_language(requested, remembered, header) == chosen


def test_catalogues_compile_when_loaded() -> None:
    assert translations("ru").gettext("Members") == "Участники"
    assert translations("pl").gettext("Members") == "Uczestnicy"
    assert translations("en").gettext("Members") == "Members"
