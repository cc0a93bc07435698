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
from dataclasses import dataclass
from datetime import datetime

from patron.rules.allocation import paid_amounts
from patron.rules.arithmetic import round_ratio
from patron.rules.compiled import compile_conditions, compile_program, ratio_of
from patron.rules.conditions import check_conditions, purchase_facts
from patron.rules.context import PurchaseContext
from patron.rules.periods import limit_period_key
from patron.rules.program import RuleProgram
from patron.rules.trace import BreakdownRow, effect_of
from patron.rules.vocabulary import Campaign, CampaignStatus, DeferredEffect, EffectType, Stacking

ROW_PREFIX = "campaign:"


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

    @property
    def key(self) -> str:
        return self.campaign.key

    @property
    def qualifies(self) -> bool:
        return self.reason is None

    def row(self, *, applied: bool, reason: str | None) -> BreakdownRow:
        kind, value = effect_of(self.campaign.effect)
        return BreakdownRow(
            rule_id=ROW_PREFIX + self.key,
            name=self.name,
            applied=applied,
            reason=reason,
            effect=kind.value,
            value=str(value),
            points=self.points if applied else 0,
        )


def live_campaigns(
    campaigns: Sequence[Campaign], moment: datetime, timezone: str
) -> list[Campaign]:
    """The campaigns whose status at ``moment`` is ``active``, in evaluation order (priority
    descending, ties in file order)."""
    live = [c for c in campaigns if c.status_at(moment, timezone) is CampaignStatus.ACTIVE]
    return sorted(live, key=lambda campaign: -campaign.priority)


def usage_keys(
    campaigns: Sequence[Campaign], moment: datetime, timezone: str
) -> list[tuple[str, str]]:
    """``(campaign key, period key)`` of the live campaigns with a per-member limit."""
    return [
        (c.key, limit_period_key(c.limits.period, moment, timezone))
        for c in live_campaigns(campaigns, moment, timezone)
        if c.limits is not None and c.limits.per_member is not None
    ]


def _points(
    program: RuleProgram,
    campaign: Campaign,
    amounts: list[int],
    shipping: int,
    lines: tuple[int, ...],
) -> int:
    compiled = compile_program(program)
    kind, value = effect_of(campaign.effect)
    if kind is EffectType.BONUS_POINTS:
        return int(value)
    if kind is EffectType.MULTIPLY_LINES:
        spend = sum(amounts[index] for index in lines)
    else:
        spend = sum(amounts) + shipping
    a, b = ratio_of(value)  # type: ignore[arg-type]
    numerator = spend * compiled.points * (a - b)
    return round_ratio(numerator, compiled.per_amount * b, compiled.rounding)


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
    compiled = compile_program(program)
    facts = purchase_facts(compiled, context)
    amounts = paid_amounts(context)
    shipping = 0 if compiled.exclude_shipping else context.shipping
    checks: list[CampaignCheck] = []
    for campaign in live_campaigns(campaigns, context.occurred_at, timezone):
        limits = campaign.limits
        period_key = (
            limit_period_key(limits.period, context.occurred_at, timezone)
            if limits is not None and limits.per_member is not None
            else None
        )
        result = check_conditions(compile_conditions(program, campaign.when), facts)
        reason: str | None = None
        tiers = campaign.audience.tiers
        if not has_member:
            reason = "not in the audience: campaigns apply to members' purchases"
        elif tiers is not None and context.tier_id not in tiers:
            reason = "not in the audience: the member's tier is not " + ", ".join(tiers)
        elif not result.holds:
            reason = "conditions not met: " + ", ".join(result.failed)
        elif limits is not None and limits.per_member is not None:
            used = usage.get(campaign.key, 0)
            if used >= limits.per_member:
                reason = (
                    f"limit reached: already applied {used} of {limits.per_member} times "
                    f"per {limits.period.value}"
                )
        points = _points(program, campaign, amounts, shipping, result.lines)
        checks.append(
            CampaignCheck(campaign, campaign.name.pick(language), points, reason, period_key)
        )
    return checks


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
