"""The projection of campaigns on other triggers than a purchase over a replay's period
(docs/simulator.md, "Campaigns on other triggers"): which of them can be projected, their
occurrences (:mod:`.trigger_occurrences`), the pass through the live engine's checks and
claims (:mod:`.trigger_run`), and what the report says of each; their credits as lots for
the month-end balances.

A history file holds purchases only: its members' first purchases give the anniversaries,
nothing else. With the database, the members (enrolment, birth date and its last change,
attributes) and the stored reviews, survey answers, custom events and rewarded referrals
give the rest. An audience by segments, or early access, is not projected (segments are
those of the last refresh, not of the past); attributes and flags are read as they are now.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from patron.programs.expiry import expiry_for
from patron.programs.schema import Program
from patron.rules.club import is_gated
from patron.rules.compiled import compile_conditions
from patron.rules.vocabulary import Campaign, CampaignStatus, Trigger
from patron.rules.vocabulary.audience import MemberFacts, flags_of
from patron.simulator.campaign_frame import NotProjected
from patron.simulator.schemas import CampaignReport
from patron.simulator.tier_moments import tiers_at
from patron.simulator.trigger_occurrences import (
    Occurrence,
    TriggerData,
    TriggerMember,
    occurrences,
)
from patron.simulator.trigger_run import Award, TriggerRun, TriggerTotals, run_triggers

_RUNS = (CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED)


def _reason(campaign: Campaign, database: bool) -> str | None:
    """Why ``campaign`` (another trigger, written to run) is not projected, or ``None``."""
    trigger = campaign.trigger.value
    audience = campaign.audience
    if audience.segments is not None or campaign.early_access is not None:
        return "audience by segments, or early access: the past's segments are not kept"
    if database:
        return None
    if campaign.trigger is not Trigger.ANNIVERSARY:
        return f"trigger {trigger}: a history file holds purchases only (replay a database)"
    if audience.flags is not None or audience.new_members is not None or audience.attributes:
        return "audience by flags, attributes or new members: a history file holds no members"
    return None


def trigger_plan(
    program: Program, *, database: bool
) -> tuple[tuple[Campaign, ...], tuple[NotProjected, ...]]:
    """The campaigns on other triggers the replay projects (in file order), and the others
    written to run, with why not."""
    found: list[Campaign] = []
    skipped: list[NotProjected] = []
    for campaign in program.campaigns:
        if campaign.trigger is Trigger.PURCHASE or campaign.status not in _RUNS:
            continue
        why = _reason(campaign, database)
        if why is None:
            found.append(campaign)
        else:
            skipped.append(NotProjected(campaign.key, campaign.trigger.value, why))
    return tuple(found), tuple(skipped)


def _reads_tier(program: Program, campaigns: Sequence[Campaign]) -> bool:
    return any(
        campaign.audience.tiers is not None
        or compile_conditions(program, campaign.when).tiers is not None
        for campaign in campaigns
    )


def _facts(
    program: Program,
    campaigns: Sequence[Campaign],
    found: Sequence[Occurrence],
    purchases: pl.DataFrame,
    month_ends: list[datetime],
    members: Sequence[TriggerMember],
) -> list[MemberFacts]:
    """Each occurrence's member facts: the tier when it is applied (when a campaign reads it),
    the enrolment and the attributes (and flags) as stored now."""
    gated = any(is_gated(campaign) for campaign in campaigns)
    if not gated and not _reads_tier(program, campaigns):
        return [MemberFacts()] * len(found)  # nothing reads them
    queries = [(item.member, item.applied_at) for item in found]
    tiers: Sequence[str | None] = (
        tiers_at(program, purchases, month_ends, queries)
        if _reads_tier(program, campaigns)
        else [None] * len(found)
    )
    by_id: dict[Hashable, TriggerMember] = {member.id: member for member in members}
    known: dict[tuple[Hashable, str | None], MemberFacts] = {}
    facts: list[MemberFacts] = []
    for item, tier in zip(found, tiers, strict=True):
        cached = known.get((item.member, tier))
        if cached is None:
            member = by_id.get(item.member)
            cached = MemberFacts(tier_id=tier)
            if member is not None and gated:
                cached = MemberFacts(
                    tier_id=tier,
                    flags=flags_of(member.attributes),
                    attributes=member.attributes,
                    enrolled_at=member.enrolled_at,
                )
            known[(item.member, tier)] = cached
        facts.append(cached)
    return facts


@dataclass(frozen=True, slots=True)
class TriggerProjection:
    reports: list[CampaignReport]
    not_projected: list[NotProjected]
    lots: pl.DataFrame  # at, points, pending_until, expires_at: one row per credit
    awards: tuple[Award, ...] = ()


def _lots(program: Program, run: TriggerRun | None) -> pl.DataFrame:
    stamp = pl.Datetime("us", "UTC")
    awards = run.awards if run is not None else ()
    return pl.DataFrame(
        {
            "at": pl.Series([award.moment for award in awards], dtype=stamp),
            "points": pl.Series([award.points for award in awards], dtype=pl.Int64),
            "pending_until": pl.Series([None] * len(awards), dtype=stamp),
            "expires_at": pl.Series(
                [expiry_for(program, award.moment) for award in awards], dtype=stamp
            ),
        }
    )


def _report(program: Program, campaign: Campaign, run: TriggerRun) -> CampaignReport:
    found = run.totals[campaign.key]
    budget = campaign.budget
    points_budget = budget.points if budget is not None else None
    money_budget = (
        program.minor(budget.money) if budget is not None and budget.money is not None else None
    )
    limits = campaign.limits
    count = found.applications
    return CampaignReport(
        key=campaign.key,
        name=campaign.name.pick(program.program.default_language.value),
        effect="bonus_points" if campaign.effect is not None else None,
        stacking=campaign.stacking.value,
        method="ordered",
        applications=count,
        participants=len(found.members),
        points_issued=found.points,
        usage_limit=limits.total if limits is not None else None,
        budget_points=points_budget,
        budget_consumed=found.points if points_budget is not None else None,
        budget_left=points_budget - found.points if points_budget is not None else None,
        budget_exhausted_at=found.exhausted_at,
        coupons_issued=count * sum(1 for d in campaign.deferred if d.issue_reward),
        wallet_credited=found.money,
        messages=count * sum(1 for d in campaign.deferred if d.send_message),
        prizes_won=None,
        raffle_entries=None,
        trigger=campaign.trigger.value,
        budget_money=money_budget,
        budget_money_exhausted_at=found.money_exhausted_at,
    )


def project_triggers(
    program: Program,
    purchases: pl.DataFrame,
    month_ends: list[datetime],
    data: TriggerData | None,
) -> TriggerProjection:
    """Project ``program``'s campaigns on other triggers over the period of ``purchases``
    (the replay's member purchases: ``seq``, ``member``, ``at``, ``total``, ``shipping``,
    ``points``); ``data``: the database's members and events, ``None`` for a history
    file."""
    campaigns, skipped = trigger_plan(program, database=data is not None)
    if not campaigns or not purchases.height:
        nothing = TriggerRun({campaign.key: TriggerTotals() for campaign in campaigns}, ())
        reports = [_report(program, campaign, nothing) for campaign in campaigns]
        return TriggerProjection(reports, list(skipped), _lots(program, None))
    timezone = program.program.timezone
    firsts = purchases.group_by("member").agg(pl.col("at").min()).sort("member")
    active = None if data is None else {member.id for member in data.members}
    origins = [
        (member, first)
        for member, first in firsts.iter_rows()
        if active is None or member in active
    ]
    first, last = purchases["at"].min(), purchases["at"].max()
    assert isinstance(first, datetime)
    assert isinstance(last, datetime)
    found = occurrences(campaigns, timezone, first=first, last=last, firsts=origins, data=data)
    members = data.members if data is not None else ()
    facts = _facts(program, campaigns, found, purchases, month_ends, members)
    run = run_triggers(program, campaigns, found, facts)
    reports = [_report(program, campaign, run) for campaign in campaigns]
    return TriggerProjection(reports, list(skipped), _lots(program, run), run.awards)
