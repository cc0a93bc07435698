"""Campaigns on other triggers in a replay: each occurrence (:mod:`.trigger_occurrences`)
passed in time order through what :func:`patron.campaigns.triggers.apply_trigger` does live,
with the counters kept in memory instead of the database's rows.

For one member's occurrence: the campaigns already applied to it are left out; the others
are checked with the engine's :func:`patron.rules.campaigns.check_campaigns` at the
occurrence's moment (window, status, audience, ``tier_in``) and the member's per-member
usage of the period (:func:`~patron.rules.campaigns.with_usage`); the stacking policies
choose (:func:`~patron.rules.campaigns.select`), and each chosen campaign is claimed as
:func:`patron.campaigns.service.claim_selected` claims it: the per-member limit, then the
global limit, the points budget and the money budget (the cashback of its ``credit_wallet``
effects, :func:`patron.campaigns.money_budget.money_of`) in one counter; a refused claim
gives back the pass's claims and the policies choose again without it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from patron.campaigns.money_budget import Money, money_of
from patron.programs.schema import Program
from patron.rules.campaigns import CampaignCheck, check_campaigns, select, with_usage
from patron.rules.context import PurchaseContext
from patron.rules.vocabulary import Campaign
from patron.rules.vocabulary.audience import MemberFacts
from patron.simulator.trigger_occurrences import Occurrence


@dataclass(slots=True)
class TriggerTotals:
    """What one campaign did over the period (money in minor units)."""

    applications: int = 0
    points: int = 0
    money: int = 0
    members: set[Hashable] = field(default_factory=set)
    exhausted_at: datetime | None = None  # the first application its points budget refused
    money_exhausted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Award:
    """One application: a ``bonus`` credit of ``points`` at ``moment`` (the report's lots)."""

    moment: datetime
    member: Hashable
    key: str
    occurrence: str
    points: int


@dataclass(frozen=True, slots=True)
class TriggerRun:
    totals: dict[str, TriggerTotals]
    awards: tuple[Award, ...]


class _Counters:
    def __init__(self) -> None:
        self.uses: dict[str, int] = defaultdict(int)
        self.spent: dict[str, int] = defaultdict(int)
        self.money: dict[str, int] = defaultdict(int)
        self.usage: dict[tuple[Hashable, str, str], int] = defaultdict(int)
        self.applied: set[tuple[Hashable, str, str]] = set()


def _refusal(
    program: Program, check: CampaignCheck, money: Money, counters: _Counters
) -> str | None:
    """Why the counter claim is refused (``claim_counter``'s conditions), or ``None``."""
    campaign, key = check.campaign, check.key
    limits, budget = campaign.limits, campaign.budget
    if limits is not None and limits.total is not None and counters.uses[key] + 1 > limits.total:
        return "usage limit reached"
    if budget is None:
        return None
    if budget.points is not None and counters.spent[key] + check.points > budget.points:
        return "budget used up"
    cost = money.costs.get(key, 0)
    if budget.money is not None and counters.money[key] + cost > program.minor(budget.money):
        return "money budget used up"
    return None


def _count(check: CampaignCheck, member: Hashable, money: Money, counters: _Counters) -> None:
    counters.uses[check.key] += 1
    counters.spent[check.key] += check.points
    counters.money[check.key] += money.costs.get(check.key, 0)
    if check.period_key is not None:
        counters.usage[(member, check.key, check.period_key)] += 1


def _claimed(
    program: Program,
    checks: list[CampaignCheck],
    member: Hashable,
    counters: _Counters,
    totals: dict[str, TriggerTotals],
    moment: datetime,
) -> tuple[list[CampaignCheck], Money]:
    """The checks applied after the claims (see the module docstring), counted."""
    money = money_of(program, checks, 0)  # no purchase: a percent of nothing credits 0
    refused: dict[str, str] = {}
    while True:
        applied = select(checks, refused).applied
        for check in applied:
            why = _refusal(program, check, money, counters)
            if why is None:
                continue
            refused[check.key] = why
            found = totals[check.key]
            if why == "budget used up" and found.exhausted_at is None:
                found.exhausted_at = moment
            if why == "money budget used up" and found.money_exhausted_at is None:
                found.money_exhausted_at = moment
            break
        else:
            for check in applied:
                _count(check, member, money, counters)
            return list(applied), money


def run_triggers(
    program: Program,
    campaigns: Sequence[Campaign],
    found: Sequence[Occurrence],
    facts: Sequence[MemberFacts],
) -> TriggerRun:
    """Pass ``found`` (in the order live applies them) through the campaigns' checks and
    claims; ``facts``: each occurrence's member's audience facts at its moment."""
    language = program.program.default_language.value
    counters = _Counters()
    totals = {campaign.key: TriggerTotals() for campaign in campaigns}
    awards: list[Award] = []
    for occurrence, member_facts in zip(found, facts, strict=True):
        member = occurrence.member
        fresh = [
            campaign
            for campaign in occurrence.campaigns
            if (member, campaign.key, occurrence.name) not in counters.applied
        ]
        if not fresh:  # applied on an earlier day of its window: nothing more, as live
            continue
        context = PurchaseContext(
            occurred_at=occurrence.moment,
            lines=(),
            total=0,
            tier_id=member_facts.tier_id,
            member=member_facts,
        )
        checks = check_campaigns(
            program, fresh, context, has_member=True, language=language, usage={}
        )
        usage = {
            check.key: counters.usage[(member, check.key, check.period_key)]
            for check in checks
            if check.period_key is not None and check.qualifies
        }
        checks = with_usage(checks, usage)
        applied, money = _claimed(program, checks, member, counters, totals, occurrence.moment)
        for check in applied:
            counters.applied.add((member, check.key, occurrence.name))
            item = totals[check.key]
            item.applications += 1
            item.points += check.points
            item.money += money.costs.get(check.key, 0)
            item.members.add(member)
            awards.append(
                Award(occurrence.moment, member, check.key, occurrence.name, check.points)
            )
    return TriggerRun(totals, tuple(awards))
