"""Who a standing discount, a gated reward or a campaign's early access is for, as the
program file writes it (``audience: {tiers: [gold], segments: [champions], flags: [vip]}``),
and the pure check of one member against it.

Each list given must hold (a member must match every kind written); within a list any one
entry is enough. Nothing written: every member. ``tiers`` are ids of ``tiers.levels``;
``segments`` the member's RFM segment name (``champions``) or a behavioural group the daily
refresh put them in (``high_value``, ``regular``, ``category_lover``, ``at_risk``);
``flags`` the member's ``attributes`` that are ``true`` (``attributes: {"vip": true}``).

The answer is an :class:`Eligibility`: a stable ``code`` and its ``params``, shown as they
are by the rewards list and the checkout quote (docs/campaigns.md, "Closed club").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from patron.kit.strict import Strict
from patron.rules.vocabulary.base import Slug

Names = Annotated[list[Slug], Field(min_length=1, max_length=50)]
FlagName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class MemberAudience(Strict):
    tiers: Names | None = Field(default=None, exclude_if=lambda value: value is None)
    segments: Names | None = Field(default=None, exclude_if=lambda value: value is None)
    flags: Annotated[list[FlagName], Field(min_length=1, max_length=50)] | None = Field(
        default=None, exclude_if=lambda value: value is None
    )

    @property
    def everyone(self) -> bool:
        return self.tiers is None and self.segments is None and self.flags is None


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What an audience reads of a member: the tier, the segment and groups of the last
    refresh, and the attributes that are ``true``."""

    tier_id: str | None = None
    segments: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    attributes: Mapping[str, Any] = field(default_factory=dict)  # read by campaign audiences
    enrolled_at: datetime | None = None  # read by a campaign's ``new_members``


def flags_of(attributes: Mapping[str, Any] | None) -> frozenset[str]:
    """The attribute names whose value is JSON ``true`` (never ``"true"`` or 1)."""
    return frozenset(name for name, value in (attributes or {}).items() if value is True)


class Code:
    """The stable reason codes (docs/api.md lists them with their params)."""

    EVERYONE = "everyone"  # no audience written
    IN_AUDIENCE = "in_audience"  # params: tier, segments, flags that matched
    NO_MEMBER = "no_member"  # a purchase or quote without a member
    TIER_NOT_IN_AUDIENCE = "tier_not_in_audience"  # params: tiers, tier
    SEGMENT_NOT_IN_AUDIENCE = "segment_not_in_audience"  # params: segments, member_segments
    FLAG_MISSING = "flag_missing"  # params: flags, missing
    NOT_NEW_MEMBER = "not_new_member"  # params: days, enrolled_at
    ATTRIBUTE_NOT_IN_AUDIENCE = "attribute_not_in_audience"  # params: attribute, values, value
    TIER_REQUIRED = "tier_required"  # a reward's min_tier; params: min_tier, tier
    EARLY_ACCESS = "early_access"  # params: opens_at, opens_for_everyone_at
    NOT_OPEN_YET = "not_open_yet"  # params: opens_at
    CLOSED = "closed"  # params: ends_at


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "code": self.code, "params": dict(self.params)}


def check_audience(audience: MemberAudience | None, facts: MemberFacts | None) -> Eligibility:
    """Whether the member (``None``: no member) is in ``audience``, and why: the first kind
    that fails, in the order tiers, segments, flags."""
    if audience is None or audience.everyone:
        return Eligibility(True, Code.EVERYONE)
    if facts is None:
        return Eligibility(False, Code.NO_MEMBER)
    matched: dict[str, Any] = {}
    if audience.tiers is not None:
        if facts.tier_id not in audience.tiers:
            params = {"tiers": list(audience.tiers), "tier": facts.tier_id}
            return Eligibility(False, Code.TIER_NOT_IN_AUDIENCE, params)
        matched["tier"] = facts.tier_id
    if audience.segments is not None:
        found = sorted(set(audience.segments) & facts.segments)
        if not found:
            params = {
                "segments": list(audience.segments),
                "member_segments": sorted(facts.segments),
            }
            return Eligibility(False, Code.SEGMENT_NOT_IN_AUDIENCE, params)
        matched["segments"] = found
    if audience.flags is not None:
        missing = [flag for flag in audience.flags if flag not in facts.flags]
        if len(missing) == len(audience.flags):
            return Eligibility(
                False, Code.FLAG_MISSING, {"flags": list(audience.flags), "missing": missing}
            )
        matched["flags"] = [flag for flag in audience.flags if flag in facts.flags]
    return Eligibility(True, Code.IN_AUDIENCE, matched)
