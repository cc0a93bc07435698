"""Campaigns on triggers other than a purchase: a signup, a birthday, the anniversary of the
first purchase, a review, a survey answer, a custom event. Never commits.

:func:`apply_trigger` runs in the unit of work of whatever triggered it (an event handler, a
daily job step, ``POST /events``). It locks the member's account first, so two triggers of
one member apply one after the other; then, for the program's campaigns of the trigger:

1. leaves out those already applied to this *occurrence* (a row in ``campaign_awards``:
   ``signup``, ``birthday:2027``, ``review:17``, ``event:42``);
2. checks the others exactly as a purchase's campaigns are checked (live at the moment,
   audience: tiers, segments, flags, ``new_members`` and attributes, ``tier_in``, the
   member's per-member limit of the period) and lets the stacking policies choose
   (:func:`patron.rules.campaigns.select`);
3. *claims* each chosen campaign's counters (its per-member usage row, its global limit and
   budget row: one atomic upsert each, :func:`patron.campaigns.service.claim_selected`), so
   limits and budgets hold under races as they do for purchases;
4. credits each applied campaign's ``bonus_points`` (if it has any) through the award
   service with the idempotency key ``campaign:<key>:<member>:<occurrence>`` (so a replayed
   trigger never credits twice), which emits ``ledger.credited`` in the same unit of work,
   and records the ``campaign_awards`` row (the stats count it) and emits
   ``campaigns.applied``;
5. applies the campaign's deferred effects with it, in the same unit of work
   (:func:`patron.campaigns.deferred.apply_campaign_effects`: a coupon for ``issue_reward``,
   a wallet credit of its ``amount`` for ``credit_wallet``, whose money was claimed from the
   money budget in step 3, then ``send_message``), keyed
   ``deferred:<member>:<occurrence>:campaign:<key>:<index>``, so nothing is given twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.awards.service import award
from patron.campaigns.deferred import apply_campaign_effects
from patron.campaigns.events import CampaignApplied
from patron.campaigns.models import CampaignAward
from patron.campaigns.money_budget import money_of
from patron.campaigns.repository import CampaignRepository
from patron.campaigns.service import (
    CampaignOutcome,
    Claim,
    alert_spent,
    claim_selected,
    give_back,
)
from patron.kit.money import format_amount
from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.ledger.sources import LedgerSource
from patron.members.facts import member_facts
from patron.members.models import Member, MemberStatus
from patron.programs.schemas import ActiveProgram
from patron.rules.campaigns import CampaignCheck, check_campaigns, with_usage
from patron.rules.club import is_gated
from patron.rules.context import PurchaseContext
from patron.rules.vocabulary import Campaign, Trigger


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """One campaign of the trigger: applied with ``points``, or not, and why."""

    key: str
    applied: bool
    points: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class TriggerOutcome:
    points: int = 0
    campaigns: tuple[CampaignResult, ...] = ()

    @property
    def applied(self) -> tuple[CampaignResult, ...]:
        return tuple(result for result in self.campaigns if result.applied)


def trigger_campaigns(
    active: ActiveProgram, trigger: Trigger, *, event: str | None = None
) -> tuple[Campaign, ...]:
    """The program's campaigns of ``trigger`` (of the custom event ``event`` for
    ``trigger: event``), in file order, whatever their status."""
    return tuple(
        campaign
        for campaign in active.program.campaigns
        if campaign.trigger is trigger and (event is None or campaign.event == event)
    )


async def _applied_before(
    session: AsyncSession, program_id: int, member_id: int, occurrence: str, keys: Sequence[str]
) -> set[str]:
    rows = await session.scalars(
        select(CampaignAward.campaign_key).where(
            CampaignAward.program_id == program_id,
            CampaignAward.member_id == member_id,
            CampaignAward.occurrence == occurrence,
            CampaignAward.campaign_key.in_(list(keys)),
        )
    )
    return set(rows)


async def _checks(
    session: AsyncSession,
    active: ActiveProgram,
    campaigns: Sequence[Campaign],
    member_id: int,
    tier_id: str | None,
    occurred_at: datetime,
    attributes: Mapping[str, object] | None,
) -> list[CampaignCheck]:
    program = active.program
    facts = (
        await member_facts(session, member_id=member_id)
        if any(is_gated(campaign) for campaign in campaigns)
        else None
    )
    context = PurchaseContext(
        occurred_at=occurred_at,
        lines=(),
        total=0,
        tier_id=tier_id,
        member=facts,
        attributes=attributes,
    )
    language = program.program.default_language.value
    checks = check_campaigns(
        program, campaigns, context, has_member=True, language=language, usage={}
    )
    limited = [(c.key, c.period_key) for c in checks if c.period_key is not None and c.qualifies]
    if not limited:
        return checks
    usage = await CampaignRepository(session).member_usage(member_id, limited)
    return with_usage(checks, usage)


def _results(
    campaigns: Sequence[Campaign],
    before: set[str],
    checks: Sequence[CampaignCheck],
    skipped: dict[str, str],
    applied: dict[str, int],
) -> tuple[CampaignResult, ...]:
    by_key = {check.key: check for check in checks}
    results: list[CampaignResult] = []
    for campaign in campaigns:
        key = campaign.key
        check = by_key.get(key)
        if key in applied:
            results.append(CampaignResult(key, True, applied[key], None))
        elif key in before:
            results.append(CampaignResult(key, False, 0, "already applied to this occurrence"))
        elif check is None:
            results.append(CampaignResult(key, False, 0, "not running at this moment"))
        else:
            reason = skipped.get(key, check.reason) or "not applied"
            results.append(CampaignResult(key, False, 0, reason))
    return tuple(results)


async def apply_trigger(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int,
    campaigns: Sequence[Campaign],
    occurrence: str,
    occurred_at: datetime,
    now: datetime,
    attributes: Mapping[str, object] | None = None,
) -> TriggerOutcome:
    """Apply ``campaigns`` (all of one trigger) to the member for ``occurrence`` (see the
    module docstring); ``attributes`` are a custom event's (its campaigns' conditions read
    them). A blocked or erased member gets nothing."""
    if not campaigns:
        return TriggerOutcome()
    await ledger_service.lock_account_for_update(session, member_id)
    member = (
        await session.execute(
            select(Member.status, Member.tier_id, Member.erased_at).where(Member.id == member_id)
        )
    ).first()
    if member is None or member.status is not MemberStatus.ACTIVE or member.erased_at is not None:
        why = "the member is not active"
        return TriggerOutcome(
            campaigns=tuple(CampaignResult(c.key, False, 0, why) for c in campaigns)
        )
    program_id = active.program_id
    before = await _applied_before(
        session, program_id, member_id, occurrence, [c.key for c in campaigns]
    )
    fresh = [campaign for campaign in campaigns if campaign.key not in before]
    checks = await _checks(
        session, active, fresh, member_id, member.tier_id, occurred_at, attributes
    )
    money = money_of(active.program, checks, 0)  # an amount: it reads no purchase
    selection, claims = await claim_selected(session, program_id, member_id, checks, money=money)
    skipped = {check.key: why for check, why in selection.skipped}
    by_key = {check.key: check for check in checks}
    applied: dict[str, int] = {}
    for claim in claims:
        check = by_key[claim.key]
        credited: int | None = None  # a campaign without points gives its deferred effects
        if claim.points > 0:
            credited = await _credit(session, active, member_id, claim, check.name, occurrence, now)
            if credited is None:
                skipped[claim.key] = "already credited to this occurrence"
                continue
        session.add(
            CampaignAward(
                program_id=program_id,
                campaign_key=claim.key,
                member_id=member_id,
                trigger=campaigns[0].trigger.value,
                occurrence=occurrence,
                points=claim.points,
                entry_id=credited,
                occurred_at=occurred_at,
                created_at=now,
            )
        )
        applied[claim.key] = claim.points
        event = CampaignApplied(
            campaign_key=claim.key,
            member_id=member_id,
            trigger=campaigns[0].trigger.value,
            occurrence=occurrence,
            points=claim.points,
            cashback=format_amount(claim.cashback, active.program.currency),
            currency=active.program.currency,
            rewards=list(claim.rewards),
        )
        await emit(session, event, program_id=program_id, occurred_at=now)
        await apply_campaign_effects(
            session,
            active=active,
            member_id=member_id,
            campaign_key=claim.key,
            occurrence=occurrence,
            points=claim.points,
            occurred_at=occurred_at,
            now=now,
        )
    await session.flush()
    await alert_spent(
        session,
        program_id=program_id,
        claims=[claim for claim in claims if claim.key in applied],
        now=now,
    )
    return TriggerOutcome(
        points=sum(applied.values()),
        campaigns=_results(campaigns, before, checks, skipped, applied),
    )


async def _credit(
    session: AsyncSession,
    active: ActiveProgram,
    member_id: int,
    claim: Claim,
    name: str,
    occurrence: str,
    now: datetime,
) -> int | None:
    """Credit the claim's points; ``None`` (and the claim given back) when the idempotency key
    was credited before."""
    awarded = await award(
        session,
        active=active,
        member_id=member_id,
        points=claim.points,
        source=LedgerSource.CAMPAIGN,
        source_id=claim.key,
        key=(claim.key, member_id, occurrence),
        now=now,
        description=name,
        meta={"campaign": claim.key, "occurrence": occurrence},
    )
    if not awarded.created or awarded.entry is None:
        await give_back(
            session,
            program_id=active.program_id,
            member_id=member_id,
            outcome=CampaignOutcome(claims=(claim,)),
        )
        return None
    return awarded.entry.id
