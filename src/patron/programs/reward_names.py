"""A reward's name per language (``names: {ru, pl, en}`` in the program file): the portal
shows the member's language, else the reward's ``name``, which stays required and is what
every other reader (the API's catalogue, the ledger's descriptions) shows."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from patron.programs.strict import Strict

NameText = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


class RewardNames(Strict):
    """Each language optional; a language left out shows the reward's ``name``."""

    ru: NameText | None = Field(default=None, exclude_if=lambda value: value is None)
    pl: NameText | None = Field(default=None, exclude_if=lambda value: value is None)
    en: NameText | None = Field(default=None, exclude_if=lambda value: value is None)

    def pick(self, language: str, default: str) -> str:
        chosen = getattr(self, language, None) if language in ("ru", "pl", "en") else None
        return chosen if isinstance(chosen, str) else default
