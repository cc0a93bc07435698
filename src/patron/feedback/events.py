"""The feedback events (a contract: never renamed; see docs/events.md)."""

from __future__ import annotations

from datetime import datetime

from patron.kit.outbox import DomainEvent


class SurveysInvited(DomainEvent):
    type = "surveys.invited"
    member_id: int
    survey_key: str
    invitation_id: int
    path: str
    expires_at: datetime


class SurveysAnswered(DomainEvent):
    type = "surveys.answered"
    member_id: int
    survey_key: str
    response_id: int


class ReviewsCreated(DomainEvent):
    type = "reviews.created"
    member_id: int
    review_id: int


class ReviewsReplied(DomainEvent):
    type = "reviews.replied"
    member_id: int
    review_id: int


class ReviewsFlagged(DomainEvent):
    """A review the text analysis found negative, flagged for a follow-up after it was
    created."""

    type = "reviews.flagged"
    member_id: int
    review_id: int
