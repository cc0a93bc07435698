"""What the segments domain returns: a member's insights and the RFM overview of a program."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from patron.kit.pages import Page


class SegmentGroup(StrEnum):
    """The behavioural groups and the churn flag a member can be selected by."""

    HIGH_VALUE = "high_value"
    REGULAR = "regular"
    CATEGORY_LOVER = "category_lover"
    AT_RISK = "at_risk"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class MemberGroups(_Frozen):
    high_value: bool
    regular: bool
    category_lover: bool
    favourite_category: str | None
    favourite_category_share: float | None


class MemberScores(_Frozen):
    """One member's stored scores. Money (``monetary``, ``clv``) in minor units of
    ``currency``; ``expected_purchases`` over the next ``horizon_days`` days; the churn
    figures are None when the models could not be fitted at the last refresh."""

    member_id: int
    rfm_segment: str
    recency_days: int
    frequency: int
    monetary: int
    currency: str
    recency_score: int
    frequency_score: int
    monetary_score: int
    groups: MemberGroups
    p_alive: float | None
    previous_p_alive: float | None
    expected_purchases: float | None
    horizon_days: int
    clv: int | None
    at_risk: bool
    computed_at: datetime


class MemberInsights(_Frozen):
    """``scored`` is false (and ``scores`` None) for a member without purchases at the last
    refresh, or enrolled since."""

    member_id: int
    scored: bool
    scores: MemberScores | None


class SegmentSize(_Frozen):
    segment: str
    members: int


class GroupSize(_Frozen):
    group: SegmentGroup
    members: int


class GridCell(_Frozen):
    recency_score: int
    frequency_score: int
    segment: str
    members: int


class MemberScoresPage(Page[MemberScores]):
    """Members in id order; pass ``next_after`` as ``after`` for the next page."""

    cursor_scope = "member_scores"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None


class RfmOverview(_Frozen):
    """Segment sizes in the order of the program's map, the 25 cells of the (R, F) grid
    (R 5 to 1, F 1 to 5), the size of each group, and with a ``segment`` or ``group`` filter
    one page of those members."""

    program: str
    members: int
    computed_at: datetime | None
    segments: list[SegmentSize]
    grid: list[GridCell]
    groups: list[GroupSize]
    page: MemberScoresPage | None = None


class RefreshReport(_Frozen):
    """What one refresh of one program stored. ``clv_fitted`` false: BG/NBD could not be
    fitted (P(alive), expected purchases and CLV stay empty) and ``clv_problem`` says why;
    ``clv_fitted`` true with a ``clv_problem``: Gamma-Gamma could not be fitted (no CLV)."""

    program: str
    members: int
    removed: int
    at_risk: int
    clv_fitted: bool
    clv_problem: str | None
    computed_at: datetime
