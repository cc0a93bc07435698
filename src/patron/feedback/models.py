"""Surveys, their invitations and answers, and reviews with staff replies.

Free-text answers and reviews carry their text analysis in the same row (the columns of
:class:`AnalysisColumns`), written when the text is written; ``analysed_at`` is None for a
text not analysed yet (the analysis job fills it).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from patron.kit.db import Base, Id, JsonType, UTCDateTime, value_enum
from patron.programs.feedback_settings import QuestionKind, SurveyTrigger


class SurveySource(StrEnum):
    """Where a survey definition comes from: the program file or the API."""

    PROGRAM = "program"
    API = "api"


class AnalysisColumns:
    """The stored analysis of a text (see patron.feedback.analysis.TextAnalysis)."""

    language: Mapped[str | None] = mapped_column(String(2), default=None)
    label: Mapped[str | None] = mapped_column(String(16), default=None)
    probability: Mapped[float | None] = mapped_column(Float, default=None)
    keywords: Mapped[list[str]] = mapped_column(JsonType, default=list)
    topic: Mapped[str | None] = mapped_column(String(32), default=None)
    severity: Mapped[float | None] = mapped_column(Float, default=None)
    money_lost: Mapped[bool] = mapped_column(Boolean, default=False)
    churn_threat: Mapped[bool] = mapped_column(Boolean, default=False)
    rudeness: Mapped[bool] = mapped_column(Boolean, default=False)
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Survey(Base):
    """A survey definition; ``questions`` is the list of `feedback_settings.Question`."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("program_id", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    trigger: Mapped[SurveyTrigger] = mapped_column(value_enum(SurveyTrigger, "survey_trigger"))
    delay_days: Mapped[int] = mapped_column(Integer, default=0)
    valid_days: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    follow_up_detractors: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[SurveySource] = mapped_column(value_enum(SurveySource, "survey_source"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyInvitation(Base):
    """A single-use link ``/s/{token}``; one per (survey, member, source_ref).

    The token (from `secrets`, 32 bytes) is unique in the database, like a coupon code, so
    that a pending invitation's link can be delivered later; it works once until
    ``expires_at``."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        UniqueConstraint("survey_id", "member_id", "source_ref"),
        Index("ix_survey_invitations_member_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    trigger: Mapped[SurveyTrigger] = mapped_column(value_enum(SurveyTrigger, "survey_trigger"))
    source_ref: Mapped[str] = mapped_column(String(128))
    store: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SurveyResponse(Base):
    """A completed invitation. ``tier_id`` and ``store`` are kept as they were when answered,
    so that KPIs per tier and per store do not move when a member changes tier later."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("ix_survey_responses_survey_id_member_id", "survey_id", "member_id"),
        Index("ix_survey_responses_submitted_at", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="CASCADE"), unique=True
    )
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    tier_id: Mapped[str | None] = mapped_column(String(64), default=None)
    store: Mapped[str | None] = mapped_column(String(64), default=None)
    language: Mapped[str] = mapped_column(String(2))
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    points_entry_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    needs_follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SurveyAnswer(AnalysisColumns, Base):
    """One question's answer: ``score`` for scored kinds, ``text`` for free text."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id"),
        Index("ix_survey_answers_kind_submitted_at", "kind", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    survey_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    question_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[QuestionKind] = mapped_column(value_enum(QuestionKind, "question_kind"))
    score: Mapped[int | None] = mapped_column(Integer, default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Review(AnalysisColumns, Base):
    """A member's review. ``first_reply_at`` is the first staff reply (response time);
    ``points`` is what the review earned (0 when the cap was reached or none are set)."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("program_id", "idempotency_key"),
        Index("ix_reviews_member_id_created_at", "member_id", "created_at"),
        Index("ix_reviews_created_at", "created_at"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), default=None)
    rating: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    sku: Mapped[str | None] = mapped_column(String(128), default=None)
    purchase_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchases.id", ondelete="SET NULL"), default=None
    )
    store: Mapped[str | None] = mapped_column(String(64), default=None)
    tier_id: Mapped[str | None] = mapped_column(String(64), default=None)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    points_entry_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    needs_follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ReviewReply(Base):
    """A staff reply; ``author`` is the API key's name (or the CLI user)."""

    __tablename__ = "review_replies"
    __table_args__ = (
        UniqueConstraint("review_id", "idempotency_key"),
        Index("ix_review_replies_review_id", "review_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), default=None)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TicketAnalysis(AnalysisColumns, Base):
    """The analysis of a support ticket's text (subject and text), kept by the feedback
    domain beside ``patron.support``'s ticket so that the problem table covers tickets too."""

    __tablename__ = "ticket_analyses"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
