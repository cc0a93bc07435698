"""Feedback as the outside world writes and reads it: surveys, invitations, answers, reviews,
KPIs, problems and follow-ups."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from patron.feedback.errors import require_unique_question_ids
from patron.feedback.models import SurveySource
from patron.kit.pages import Page
from patron.kit.text import NO_NUL
from patron.programs.feedback_settings import (
    Question,
    QuestionKind,
    SurveyDefinition,
    SurveyTrigger,
)
from patron.programs.strict import WHOLE

MemberId = Annotated[int, Field(gt=0, le=2**53, strict=True), WHOLE]
SourceRef = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=NO_NUL)]
IdempotencyKey = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=NO_NUL)]
ReviewText = Annotated[StrictStr, Field(max_length=5000, pattern=NO_NUL)]
MAX_TEXTS = 1000
"""The most texts ``POST /feedback/analyze`` takes at once."""
Slug64 = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=NO_NUL)]

__all__ = [
    "Question",
    "QuestionKind",
    "SurveyCreate",
    "SurveyDefinition",
    "SurveyTrigger",
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SurveyCreate(SurveyDefinition):
    """A survey created through the API has the fields of a program-file survey; question ids
    used twice are 422 ``duplicate_question_id`` (the program file names the path instead)."""

    @model_validator(mode="after")
    def _unique_question_ids(self) -> Self:
        require_unique_question_ids([question.id for question in self.questions])
        return self


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class SurveyUpdate(_Input):
    """A partial update of an API survey: only the fields present change."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=NO_NUL)] | None = None
    questions: Annotated[list[Question], Field(min_length=1, max_length=20)] | None = None
    trigger: SurveyTrigger | None = None
    delay_days: Annotated[int, Field(ge=0, le=365, strict=True), WHOLE] | None = None
    valid_days: Annotated[int, Field(ge=1, le=365, strict=True), WHOLE] | None = None
    points: Annotated[int, Field(ge=0, le=1_000_000, strict=True), WHOLE] | None = None
    follow_up_detractors: StrictBool | None = None
    is_active: StrictBool | None = None

    @model_validator(mode="after")
    def _unique_question_ids(self) -> Self:
        if self.questions is not None:
            require_unique_question_ids([question.id for question in self.questions])
        return self


class Survey(_Output):
    key: str
    name: str
    questions: list[Question]
    trigger: SurveyTrigger
    delay_days: int
    valid_days: int
    points: int
    follow_up_detractors: bool
    source: SurveySource
    is_active: bool
    created_at: datetime
    updated_at: datetime


class InvitationRequest(_Input):
    """Whom to invite (exactly one of): the listed members, every active member of a tier, or
    every active member of an RFM segment (as the daily job last stored it,
    ``docs/segments.md``). ``source_ref`` names the sending (a campaign): inviting the same
    member again under the same ``source_ref`` returns the first invitation."""

    member_ids: Annotated[list[MemberId], Field(min_length=1, max_length=1000)] | None = None
    tier: Slug64 | None = None
    segment: Slug64 | None = None
    source_ref: SourceRef


class Invitation(_Output):
    """``link`` is the path of the answer page; ``created`` is false for a repeated request."""

    id: int
    survey_key: str
    member_id: int
    token: str
    link: str
    trigger: SurveyTrigger
    source_ref: str
    store: str | None
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    created: bool = True


class InvitationBatch(_Output):
    created: int
    existing: int
    invitations: list[Invitation]


class TextAnalysisView(_Output):
    """The stored analysis of a text; all None until analysed."""

    language: str | None
    label: str | None
    probability: float | None
    keywords: list[str]
    topic: str | None
    severity: float | None


class Answer(_Output):
    question_id: str
    kind: QuestionKind
    score: int | None
    text: str | None
    analysis: TextAnalysisView | None = None


class SurveyResponse(_Output):
    id: int
    survey_key: str
    member_id: int
    tier_id: str | None
    store: str | None
    language: str
    points: int
    needs_follow_up: bool
    follow_up_ref: str | None
    submitted_at: datetime
    answers: list[Answer]


class SurveyResponsePage(Page[SurveyResponse]):
    cursor_scope = "survey_responses"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None


class ReviewCreate(_Input):
    """A member's review: ``rating`` 1-5, optional text, product ``sku``, ``purchase_id`` and
    ``store``. With an ``idempotency_key`` a retry returns the first review."""

    member_id: MemberId
    rating: Annotated[int, Field(ge=1, le=5, strict=True), WHOLE]
    text: ReviewText = ""
    sku: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=NO_NUL)] | None = None
    purchase_id: MemberId | None = None
    store: Slug64 | None = None
    idempotency_key: IdempotencyKey | None = None


class ReplyCreate(_Input):
    text: Annotated[StrictStr, Field(min_length=1, max_length=5000, pattern=NO_NUL)]
    idempotency_key: IdempotencyKey | None = None


class PublishChange(_Input):
    published: StrictBool


class ReviewReply(_Output):
    id: int
    author: str
    text: str
    created_at: datetime


class Review(_Output):
    """``response_seconds`` is the time to the first staff reply (None until there is one)."""

    id: int
    member_id: int
    rating: int
    text: str
    sku: str | None
    purchase_id: int | None
    store: str | None
    tier_id: str | None
    is_published: bool
    points: int
    needs_follow_up: bool
    follow_up_ref: str | None
    created_at: datetime
    first_reply_at: datetime | None
    response_seconds: int | None
    analysis: TextAnalysisView
    replies: list[ReviewReply]


class ReviewPage(Page[Review]):
    cursor_scope = "reviews"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None


class NpsScore(_Output):
    """NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100; None with no answer."""

    count: int
    promoters: int
    passives: int
    detractors: int
    value: float | None


class CsatScore(_Output):
    """CSAT = % of answers 4 or 5 on the 1-5 scale."""

    count: int
    satisfied: int
    value: float | None


class CesScore(_Output):
    """CES = mean answer on the 1-7 scale (higher: easier)."""

    count: int
    total: int
    value: float | None


class KpiGroup(_Output):
    nps: NpsScore
    csat: CsatScore
    ces: CesScore


class ReviewKpis(_Output):
    """Reviews of the period, how many got a first staff reply within 24 hours, and the share
    (None with no review)."""

    count: int
    answered: int
    answered_within_24h: int
    share_answered_within_24h: float | None
    mean_rating: float | None


class Kpis(_Output):
    start: datetime
    end: datetime
    overall: KpiGroup
    per_tier: dict[str, KpiGroup]
    per_segment: dict[str, KpiGroup]
    per_store: dict[str, KpiGroup]
    monthly: dict[str, KpiGroup]
    reviews: ReviewKpis


class ProblemSource(StrEnum):
    ALL = "all"
    SURVEYS = "surveys"
    REVIEWS = "reviews"
    TICKETS = "tickets"


class Problem(_Output):
    topic: str
    count: int
    share: float
    mean_severity: float
    score: float
    previous_count: int
    change: float | None
    trend: str
    examples: list[str]


class ProblemTable(_Output):
    start: datetime
    end: datetime
    previous_start: datetime
    texts: int
    negative: int
    labels: dict[str, int]
    problems: list[Problem]


class FollowUpKind(StrEnum):
    SURVEY_RESPONSE = "survey_response"
    REVIEW = "review"


class FollowUp(_Output):
    """A detractor's answer or a negative review that waits for a follow-up (a ticket)."""

    kind: FollowUpKind
    id: int
    member_id: int
    reason: str
    created_at: datetime


class AnalysisRun(_Output):
    """What `analyse_pending` did: texts analysed, by label."""

    analysed: int
    labels: dict[str, int]


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: Annotated[
        list[Annotated[StrictStr, Field(max_length=5000)]], Field(max_length=MAX_TEXTS)
    ]


class AnalyzeResult(BaseModel):
    language: str
    label: str
    probability: float
    keywords: list[str]
    topic: str


class AnalyzeResponse(BaseModel):
    results: list[AnalyzeResult]
