"""The closed club, pure: campaigns gated by an audience of tiers, segments or flags, and
early access (``early_access: {audience: {tiers: [gold]}, start: ...}``: the club's members
may use the campaign before its window opens for everyone).

:func:`gate` says whether one member may use one campaign at a moment, and why, with the
stable codes of :class:`patron.rules.vocabulary.audience.Code`; the checkout quote shows it
for every gated campaign (:func:`eligibility`), and the purchase path refuses a campaign
whose gate is closed (:func:`gate_reason`, the breakdown's text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from patron.rules.context import PurchaseContext
from patron.rules.vocabulary import Campaign, CampaignStatus, Trigger
from patron.rules.vocabulary.audience import (
    Code,
    Eligibility,
    MemberFacts,
    check_audience,
)
from patron.rules.vocabulary.campaigns import Audience


def is_gated(campaign: Campaign) -> bool:
    """A campaign whose audience reads more than the tier, or with early access."""
    audience = campaign.audience
    return (
        campaign.early_access is not None
        or audience.segments is not None
        or audience.flags is not None
        or audience.new_members is not None
        or audience.attributes is not None
    )


def check_campaign_audience(
    audience: Audience, facts: MemberFacts, moment: datetime
) -> Eligibility:
    """:func:`check_audience` and then a campaign's own kinds: ``new_members`` (enrolled
    within ``days`` days before ``moment``) and ``attributes`` (each named attribute holds
    one of its listed values, compared exactly: ``"1"`` is not ``1``, ``true`` not ``1``)."""
    found = check_audience(audience, facts)
    if not found.eligible:
        return found
    matched = dict(found.params)
    new = audience.new_members
    if new is not None:
        enrolled = facts.enrolled_at
        if enrolled is None or not moment - timedelta(days=new.days) <= enrolled <= moment:
            when = enrolled.isoformat() if enrolled else None
            return Eligibility(False, Code.NOT_NEW_MEMBER, {"days": new.days, "enrolled_at": when})
        matched["enrolled_at"] = enrolled.isoformat()
    for name, values in (audience.attributes or {}).items():
        value = facts.attributes.get(name)
        if not any(type(value) is type(wanted) and value == wanted for wanted in values):
            params: dict[str, Any] = {"attribute": name, "values": list(values), "value": value}
            return Eligibility(False, Code.ATTRIBUTE_NOT_IN_AUDIENCE, params)
        matched.setdefault("attributes", {})[name] = value
    if audience.everyone:
        return found
    return Eligibility(True, Code.IN_AUDIENCE, matched)


def opens_at(campaign: Campaign, timezone: str) -> datetime:
    """The first moment anyone may use the campaign (early access included)."""
    start, _ = campaign.window.bounds(timezone)
    early = campaign.early_access
    return min(start, early.bound(timezone)) if early is not None else start


def facts_of(context: PurchaseContext) -> MemberFacts:
    """The member's facts (the tier alone when nothing more was loaded)."""
    return context.member if context.member is not None else MemberFacts(tier_id=context.tier_id)


def gate(campaign: Campaign, timezone: str, moment: datetime, facts: MemberFacts) -> Eligibility:
    """Whether the member may use ``campaign`` at ``moment``, by its window, its early access
    and its audience (its conditions and limits are checked elsewhere)."""
    start, end = campaign.window.bounds(timezone)
    if moment >= end:
        return Eligibility(False, Code.CLOSED, {"ends_at": end.isoformat()})
    audience = check_campaign_audience(campaign.audience, facts, moment)
    if not audience.eligible:
        return audience
    if moment >= start:
        return audience
    early = campaign.early_access
    everyone = start.isoformat()
    if early is None:
        return Eligibility(False, Code.NOT_OPEN_YET, {"opens_at": everyone})
    club = check_audience(early.audience, facts)
    early_at = early.bound(timezone)
    if not club.eligible:
        return Eligibility(
            False, Code.NOT_OPEN_YET, {"opens_at": everyone, "early_access": club.to_dict()}
        )
    params = {"opens_at": early_at.isoformat(), "opens_for_everyone_at": everyone, **club.params}
    if moment < early_at:
        return Eligibility(False, Code.NOT_OPEN_YET, params)
    return Eligibility(True, Code.EARLY_ACCESS, params)


def gate_reason(campaign: Campaign, timezone: str, context: PurchaseContext) -> str | None:
    """The breakdown's reason when the gate is closed to the purchase's member, else None."""
    found = gate(campaign, timezone, context.occurred_at, facts_of(context))
    if found.eligible:
        return None
    if found.code == Code.NOT_OPEN_YET:
        return f"not open yet: opens at {found.params['opens_at']}"
    return f"not in the audience: {found.code}"


def eligibility(
    campaigns: Sequence[Campaign], timezone: str, context: PurchaseContext, *, has_member: bool
) -> list[tuple[str, Eligibility]]:
    """``(key, eligibility)`` of every gated purchase campaign (an audience, or early access)
    that is written to run and has not ended, for the quote."""
    found: list[tuple[str, Eligibility]] = []
    for campaign in campaigns:
        gated = is_gated(campaign) or campaign.audience.tiers is not None
        runs = campaign.status in (CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED)
        if not gated or not runs or campaign.trigger is not Trigger.PURCHASE:
            continue
        if not has_member:
            found.append((campaign.key, Eligibility(False, Code.NO_MEMBER)))
            continue
        checked = gate(campaign, timezone, context.occurred_at, facts_of(context))
        if checked.code != Code.CLOSED:
            found.append((campaign.key, checked))
    return found
