"""The languages Patron speaks to people in (ISO 639-1): one type for the program file, the
members, the feedback analyser, messages and the catalogue."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    RU = "ru"
    PL = "pl"
    EN = "en"


LANGUAGES: tuple[str, ...] = tuple(language.value for language in Language)
"""The codes, in the order forms and catalogues list them."""
