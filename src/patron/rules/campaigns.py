"""Purchase campaigns, pure: which live campaigns qualify for a purchase, what each adds, and
which of them the stacking policies keep.

A campaign's points are computed on their own, so that its cost is known by itself and is
exactly what its budget pays (and its breakdown row):

* ``bonus_points: N`` adds N;
* ``multiply_order: m`` adds ``round(eligible x rate x (m - 1))``, with ``eligible`` the
  purchase's paid spend (its lines, plus shipping when ``exclude_shipping`` is false);
* ``multiply_lines: m`` adds ``round(selected x rate x (m - 1))``, with ``selected`` what the
  lines the campaign's line conditions select were paid (every line without them).

``rate`` is ``base.points / base.per_amount`` and ``round`` the program's rounding, once per
campaign. The program's rules, the tier and the other campaigns do not change a campaign's
points, and it does not change theirs: the rows add up.

Qualifying: the campaign's status at the purchase's moment is ``active`` (written ``active``
or ``scheduled`` and the purchase inside its window), the purchase has a member in the
campaign's audience, its conditions hold and the member's per-member limit for the period is
not used up (``usage``). Budgets and global limits are not known here: the caller claims
them (:func:`select` chooses again without a campaign whose claim failed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from patron.rules.allocation import paid_amounts
from patron.rules.arithmetic import round_ratio
from patron.rules.club import gate_reason, is_gated, opens_at
from patron.rules.compiled import (
    CompiledConditions,
    compile_conditions,
    compile_program,
    ratio_of,
)
from patron.rules.conditions import check_conditions, order_total, purchase_facts
from patron.rules.context import PurchaseContext
from patron.rules.hints import Hint, HintKind, hint_for_failures
from patron.rules.periods import limit_period_key
from patron.rules.program import RuleProgram
from patron.rules.trace import BreakdownRow, effect_of
from patron.rules.vocabulary import Campaign, CampaignStatus, DeferredEffect, EffectType, Stacking

ROW_PREFIX = "campaign:"
_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class _Compiled:
    """What a campaign's checks read, computed once per campaign (and time zone)."""

    campaign: Campaign
    when: CompiledConditions
    kind: EffectType
    value: Decimal | int
    ratio: tuple[int, int]
    starts_at: datetime  # the first moment anyone may use it (early access included)
    ends_at: datetime
    gated: bool  # an audience of segments or flags, or early access (patron.rules.club)

    @property
    def runs(self) -> bool:
        """Written to run (``active`` or ``scheduled``), inside its window or not."""
        return self.campaign.status in (CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED)


_CACHE: dict[tuple[int, str], _Compiled] = {}
_FIXED = (EffectType.BONUS_POINTS, EffectType.ISSUE_REWARD)


def campaign_effect(campaign: Campaign) -> tuple[EffectType, Decimal | int]:
    """The campaign's points effect and its value; a prize or raffle campaign without one
    reads as ``bonus_points`` 0 (its prize is its deferred effects, or its entries)."""
    if campaign.effect is None:
        return EffectType.BONUS_POINTS, 0
    return effect_of(campaign.effect)


def _compiled(program: RuleProgram, campaign: Campaign) -> _Compiled:
    """Cached by identity (a campaign is immutable, and the entry holds it, so that an
    identity is never mistaken for another campaign's)."""
    timezone = program.program.timezone
    cached = _CACHE.get((id(campaign), timezone))
    if cached is not None and cached.campaign is campaign:
        return cached
    kind, value = campaign_effect(campaign)
    _, ends_at = campaign.window.bounds(timezone)
    starts_at = opens_at(campaign, timezone)
    compiled = _Compiled(
        campaign=campaign,
        when=compile_conditions(program, campaign.when),
        kind=kind,
        value=value,
        ratio=(1, 1) if kind in _FIXED else ratio_of(Decimal(value)),
        starts_at=starts_at,
        ends_at=ends_at,
        gated=is_gated(campaign),
    )
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[(id(campaign), timezone)] = compiled
    return compiled


@dataclass(frozen=True, slots=True)
class CampaignCheck:
    """One live campaign against one purchase: ``reason`` is ``None`` when it qualifies;
    ``points`` is what it adds if it applies; ``period_key`` the key of its per-member limit
    period (``None`` without a per-member limit)."""

    campaign: Campaign
    name: str
    points: int
    reason: str | None
    period_key: str | None
    effect: EffectType = EffectType.BONUS_POINTS
    value: str = ""
    failed: tuple[str, ...] = ()  # the conditions that did not hold

    @property
    def key(self) -> str:
        return self.campaign.key

    @property
    def qualifies(self) -> bool:
        return self.reason is None

    def row(self, *, applied: bool, reason: str | None) -> BreakdownRow:
        return BreakdownRow(
            rule_id=ROW_PREFIX + self.key,
            name=self.name,
            applied=applied,
            reason=reason,
            effect=self.effect.value,
            value=self.value,
            points=self.points if applied else 0,
        )


def _live(program: RuleProgram, campaigns: Sequence[Campaign], moment: datetime) -> list[_Compiled]:
    """The campaigns whose status at ``moment`` is ``active``, in evaluation order (priority
    descending, ties in file order)."""
    found = [_compiled(program, campaign) for campaign in campaigns]
    live = [c for c in found if c.runs and c.starts_at <= moment < c.ends_at]
    return sorted(live, key=lambda c: -c.campaign.priority)


def _points(
    program: RuleProgram,
    compiled: _Compiled,
    amounts: list[int],
    shipping: int,
    lines: tuple[int, ...],
) -> int:
    if compiled.kind in _FIXED:
        return int(compiled.value)
    if compiled.kind is EffectType.MULTIPLY_LINES:
        spend = sum(amounts[index] for index in lines)
    else:
        spend = sum(amounts) + shipping
    rates = compile_program(program)
    a, b = compiled.ratio
    return round_ratio(spend * rates.points * (a - b), rates.per_amount * b, rates.rounding)


def check_campaigns(
    program: RuleProgram,
    campaigns: Sequence[Campaign],
    context: PurchaseContext,
    *,
    has_member: bool,
    language: str,
    usage: Mapping[str, int],
) -> list[CampaignCheck]:
    """Every live campaign checked against the purchase, in evaluation order. ``usage`` maps
    a campaign key to its applications to this member in the current period."""
    if not campaigns:
        return []
    timezone = program.program.timezone
    rates = compile_program(program)
    facts = purchase_facts(rates, context)
    amounts = paid_amounts(context)
    shipping = 0 if rates.exclude_shipping else context.shipping
    checks: list[CampaignCheck] = []
    for compiled in _live(program, campaigns, context.occurred_at):
        campaign = compiled.campaign
        limits = campaign.limits
        period_key = (
            limit_period_key(limits.period, context.occurred_at, timezone)
            if limits is not None and limits.per_member is not None
            else None
        )
        result = check_conditions(compiled.when, facts)
        failed: tuple[str, ...] = ()
        reason = _audience_reason(compiled, context, timezone, has_member=has_member)
        if reason is None and not result.holds:
            reason = "conditions not met: " + ", ".join(result.failed)
            failed = result.failed
        elif reason is None:
            reason = limit_reason(campaign, usage)
        points = _points(program, compiled, amounts, shipping, result.lines)
        name = campaign.name.pick(language)
        value = str(compiled.value)
        checks.append(
            CampaignCheck(campaign, name, points, reason, period_key, compiled.kind, value, failed)
        )
    return checks


def _audience_reason(
    compiled: _Compiled, context: PurchaseContext, timezone: str, *, has_member: bool
) -> str | None:
    """Why the purchase's member is not in the campaign's audience (or its early access is
    not theirs yet), or ``None``."""
    if not has_member:
        return "not in the audience: campaigns apply to members' purchases"
    if compiled.gated:
        return gate_reason(compiled.campaign, timezone, context)
    tiers = compiled.campaign.audience.tiers
    if tiers is not None and context.tier_id not in tiers:
        return "not in the audience: the member's tier is not " + ", ".join(tiers)
    return None


def limit_reason(campaign: Campaign, usage: Mapping[str, int]) -> str | None:
    """Why the member's per-member limit holds ``campaign`` back (``usage``: applications in
    the current period by campaign key), or ``None``."""
    limits = campaign.limits
    if limits is None or limits.per_member is None:
        return None
    used = usage.get(campaign.key, 0)
    if used < limits.per_member:
        return None
    return (
        f"limit reached: already applied {used} of {limits.per_member} times "
        f"per {limits.period.value}"
    )


def with_usage(checks: Sequence[CampaignCheck], usage: Mapping[str, int]) -> list[CampaignCheck]:
    """``checks`` made without usage, with the member's ``usage`` taken into account (the
    same as :func:`check_campaigns` with ``usage``, without checking the conditions again)."""
    found: list[CampaignCheck] = []
    for check in checks:
        reason = limit_reason(check.campaign, usage) if check.qualifies else None
        found.append(check if reason is None else replace(check, reason=reason))
    return found


@dataclass(frozen=True, slots=True)
class Selection:
    """``applied``: the campaigns to apply, in evaluation order; ``skipped``: qualifying
    campaigns the stacking policies (or a failed claim, ``refused``) left out, with why."""

    applied: tuple[CampaignCheck, ...]
    skipped: tuple[tuple[CampaignCheck, str], ...]

    @property
    def points(self) -> int:
        return sum(check.points for check in self.applied)

    def rows(self, checks: Sequence[CampaignCheck]) -> list[BreakdownRow]:
        """Breakdown rows: the applied and skipped campaigns, and those whose per-member
        limit was reached, in evaluation order (campaigns whose conditions or audience do not
        match get no row)."""
        applied = {check.key for check in self.applied}
        skipped = {check.key: why for check, why in self.skipped}
        rows: list[BreakdownRow] = []
        for check in checks:
            if check.key in applied:
                rows.append(check.row(applied=True, reason=None))
            elif check.key in skipped:
                rows.append(check.row(applied=False, reason=skipped[check.key]))
            elif check.reason is not None and check.reason.startswith("limit reached"):
                rows.append(check.row(applied=False, reason=check.reason))
        return rows

    def deferred(self) -> tuple[tuple[str, DeferredEffect], ...]:
        """``(campaign key, effect)`` of the applied campaigns' deferred effects."""
        return tuple(
            (check.key, item.typed()) for check in self.applied for item in check.campaign.deferred
        )


def select(checks: Sequence[CampaignCheck], refused: Mapping[str, str]) -> Selection:
    """The campaigns the stacking policies keep among those that qualify and were not
    ``refused`` (key to reason: a budget or a global limit used up)."""
    skipped: list[tuple[CampaignCheck, str]] = [
        (check, refused[check.key]) for check in checks if check.key in refused
    ]
    qualifying = [check for check in checks if check.qualifies and check.key not in refused]
    exclusive = [c for c in qualifying if c.campaign.stacking is Stacking.EXCLUSIVE]
    if exclusive:
        winner = exclusive[0]
        why = f"excluded: the exclusive campaign {winner.key!r} applied"
        skipped += [(check, why) for check in qualifying if check is not winner]
        return Selection((winner,), tuple(skipped))
    applied: list[CampaignCheck] = []
    best = [c for c in qualifying if c.campaign.stacking is Stacking.BEST_OF]
    best_winner = max(best, key=lambda check: check.points) if best else None  # first of ties
    first = next((c for c in qualifying if c.campaign.stacking is Stacking.PRIORITY), None)
    for check in qualifying:
        stacking = check.campaign.stacking
        if stacking is Stacking.STACKABLE or check is best_winner or check is first:
            applied.append(check)
        elif stacking is Stacking.BEST_OF:
            assert best_winner is not None
            skipped.append((check, f"best_of: the campaign {best_winner.key!r} adds more"))
        else:
            assert first is not None
            skipped.append((check, f"priority: the campaign {first.key!r} comes first"))
    order = {check.key: index for index, check in enumerate(checks)}
    skipped.sort(key=lambda pair: order[pair[0].key])
    return Selection(tuple(applied), tuple(skipped))


def campaign_hints(
    program: RuleProgram, checks: Sequence[CampaignCheck], context: PurchaseContext
) -> list[Hint]:
    """Hints for campaigns that almost applied: in the audience, and failing only on
    conditions the customer can act on (:data:`patron.rules.hints.HINTS`), as
    :func:`patron.rules.hints.hints` gives them for rules. The caller leaves out campaigns
    whose limit or budget is used up."""
    rates = compile_program(program)
    total = order_total(rates.exclude_shipping, context)
    found: list[Hint] = []
    for check in checks:
        if not check.failed:
            continue
        compiled = _compiled(program, check.campaign)
        head = Hint(
            HintKind.SPEND_MORE, ROW_PREFIX + check.key, check.name, compiled.kind, compiled.value
        )
        hint = hint_for_failures(head, check.failed, compiled.when, check.campaign.when, total)
        if hint is not None:
            found.append(hint)
    return found
