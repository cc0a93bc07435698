"""The feedback sections of the program file: `surveys` and `reviews` (docs/program.md).

A survey is a list of questions, each scored (NPS 0-10, CSAT 1-5, CES 1-7) or free text,
worded per language. Points are integers; the review points cap counts per member per calendar
period in the program's time zone.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import Field, StrictBool, field_validator, model_validator

from patron.kit.language import LANGUAGES as LANGUAGES
from patron.programs.strict import WHOLE, Strict

SurveyKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
QuestionId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Wording = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
SettingPoints = Annotated[int, Field(ge=0, le=1_000_000, strict=True), WHOLE]


class QuestionKind(StrEnum):
    """A scored question (its scale) or a free-text one."""

    NPS = "nps"  # 0-10, "how likely are you to recommend us"
    CSAT = "csat"  # 1-5, "how satisfied are you"
    CES = "ces"  # 1-7, "how easy was it"
    TEXT = "text"

    @property
    def scale(self) -> tuple[int, int] | None:
        """Lowest and highest score, None for free text."""
        return {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}.get(self.value)


class SurveyTrigger(StrEnum):
    """What sends invitations: the purchase job, a resolved ticket, or staff (API/CLI)."""

    MANUAL = "manual"
    AFTER_PURCHASE = "after_purchase"
    TICKET_RESOLVED = "ticket_resolved"


class Question(Strict):
    """One question; `text` holds its wording per language (`ru`, `pl`, `en`)."""

    id: QuestionId
    kind: QuestionKind
    text: dict[Literal["ru", "pl", "en"], Wording] = Field(min_length=1)
    required: StrictBool = True

    @field_validator("text", mode="before")
    @classmethod
    def _languages(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise ValueError(f"languages must be ru, pl or en, not {unknown}")
        return value


class SurveyDefinition(Strict):
    """A survey of the program file (the API can add more, stored in the database)."""

    key: SurveyKey
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    questions: list[Question] = Field(min_length=1, max_length=20)
    trigger: SurveyTrigger = SurveyTrigger.MANUAL
    delay_days: Annotated[int, Field(ge=0, le=365, strict=True), WHOLE] = 0
    valid_days: Annotated[int, Field(ge=1, le=365, strict=True), WHOLE] = 14
    points: SettingPoints = 0
    follow_up_detractors: StrictBool = False

    @model_validator(mode="after")
    def _unique_question_ids(self) -> Self:
        ids = [question.id for question in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("questions: question ids must be unique")
        return self


class CapPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    LIFETIME = "lifetime"


class ReviewSettings(Strict):
    """Points for a review (at most `max_rewarded` rewarded reviews per member per
    `cap_period`), and which reviews need a follow-up (rating at most `follow_up_rating_at_most`
    or a text analysed as negative)."""

    points: SettingPoints = 0
    max_rewarded: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1
    cap_period: CapPeriod = CapPeriod.MONTH
    follow_up_rating_at_most: Annotated[int, Field(ge=0, le=5, strict=True)] = 2
    follow_up_negative_text: bool = True


def unique_survey_keys(surveys: list[SurveyDefinition]) -> list[str]:
    """`path: message` problems for survey keys used twice."""
    problems, seen = [], set()
    for index, survey in enumerate(surveys):
        if survey.key in seen:
            problems.append(f"surveys[{index}].key: survey key {survey.key!r} is used twice")
        seen.add(survey.key)
    return problems
