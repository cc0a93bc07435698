"""The facts of a replay's purchase campaigns, vectorised: for every member purchase and every
projected campaign, whether it is live and its conditions hold (Polars, the expressions of
:mod:`patron.rules.frame_conditions`), what it would add (the arithmetic of
:mod:`patron.rules.campaigns`), the key of its per-member limit period and, for an instant
prize by probability, whether the purchase wins the draw
(:func:`patron.rules.vocabulary.prizes.prize_draw` of the committed seed, as live).

Which campaigns are projected: those a purchase triggers, written to run (``active`` or
``scheduled``), whose audience reads the tier only (no segments, flags or early access: a
history holds none of them), and, for a prize by probability, whose seed is known (the
database's committed seed). The others are listed with the reason (:func:`plan`); the
campaigns on other triggers are :mod:`.trigger_projection`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

import numpy as np
import polars as pl

from patron.programs.schema import Program
from patron.rules.campaigns import campaign_effect
from patron.rules.club import is_gated
from patron.rules.compiled import compile_conditions, compile_program, ratio_of
from patron.rules.frame_conditions import (
    FRAME_CHECKS,
    line_scope,
    local_columns,
    period_key,
)
from patron.rules.frame_inputs import KEY, MEMBER, prepare_lines, prepare_purchases
from patron.rules.vocabulary import Campaign, CampaignStatus, ConditionType, EffectType, Trigger
from patron.rules.vocabulary.prizes import prize_draw

_RUNS = (CampaignStatus.ACTIVE, CampaignStatus.SCHEDULED)
_FIXED = (EffectType.BONUS_POINTS, EffectType.ISSUE_REWARD)


@dataclass(frozen=True, slots=True)
class NotProjected:
    key: str
    trigger: str
    reason: str


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """``campaigns``: the projected campaigns in evaluation order (priority descending, then
    file order, as :func:`patron.rules.campaigns.check_campaigns`); ``skipped``: the rest."""

    campaigns: tuple[Campaign, ...]
    skipped: tuple[NotProjected, ...]


def plan(program: Program, seeds: Mapping[str, str] | None) -> CampaignPlan:
    """Which of ``program``'s campaigns the replay projects (see the module docstring)."""
    found: list[Campaign] = []
    skipped: list[NotProjected] = []
    for campaign in program.campaigns:
        trigger = campaign.trigger.value
        if campaign.status not in _RUNS:
            continue  # never runs: nothing to project, nothing missing
        if campaign.trigger is not Trigger.PURCHASE:
            continue  # other triggers: patron.simulator.trigger_projection
        if is_gated(campaign):
            why = "audience by segments or flags, or early access: a history holds neither"
            skipped.append(NotProjected(campaign.key, trigger, why))
        elif (
            campaign.prize is not None
            and campaign.prize.probability is not None
            and (seeds is None or campaign.key not in seeds)
        ):
            why = "instant prize by probability without a committed seed (replay a database)"
            skipped.append(NotProjected(campaign.key, trigger, why))
        else:
            found.append(campaign)
    ordered = sorted(found, key=lambda campaign: -campaign.priority)  # stable: file order
    return CampaignPlan(tuple(ordered), tuple(skipped))


@dataclass(frozen=True, slots=True)
class CampaignFacts:
    """Row ``i`` is purchase ``i`` of the frame given to :func:`campaign_facts`, column ``c``
    campaign ``c`` of the plan. ``candidate``: live, conditions other than ``tier_in`` hold
    and (prize by probability) the draw is won; ``points``: what it adds if applied;
    ``tiers[c]``: the tiers the campaign admits (audience and ``tier_in`` together; ``None``:
    every tier); ``periods[c]``: the per-member period key of each purchase (``None``
    without a per-member limit); ``member``, ``at`` (microseconds), ``total`` and ``paid``
    (total less shipping) per purchase."""

    campaigns: tuple[Campaign, ...]
    candidate: np.ndarray
    points: np.ndarray
    tiers: tuple[frozenset[str] | None, ...]
    periods: tuple[list[str] | None, ...]
    member: np.ndarray
    at: np.ndarray
    total: np.ndarray
    paid: np.ndarray
    # the cashback (minor units) of campaigns with a money budget, per purchase (else None),
    # and the budgets: claimed with the points in the ordered pass
    cost: tuple[np.ndarray | None, ...] = ()
    money_budgets: tuple[int | None, ...] = ()

    def admitted(self, tiers: np.ndarray) -> np.ndarray:
        """``candidate`` with the tier of each purchase (``tiers``: object array of tier
        ids, ``None`` for no tier) checked against each campaign's audience."""
        found = self.candidate.copy()
        for column, allowed in enumerate(self.tiers):
            if allowed is not None:
                found[:, column] &= np.isin(tiers, list(allowed))
        return found


def _admitted_tiers(campaign: Campaign, tier_in: frozenset[str] | None) -> frozenset[str] | None:
    audience = campaign.audience.tiers
    if audience is None:
        return tier_in
    allowed = frozenset(audience)
    return allowed if tier_in is None else allowed & tier_in


def _rounded(numerator: pl.Expr, denominator: int, rounding: str) -> pl.Expr:
    """:func:`patron.rules.arithmetic.round_ratio` on Int128 columns."""
    d = pl.lit(denominator, dtype=pl.Int128)
    if rounding == "floor":
        return numerator // d
    if rounding == "ceil":
        return (numerator + d - 1) // d
    return (numerator * 2 + d) // (d * 2)


def campaign_facts(
    program: Program,
    campaigns: tuple[Campaign, ...],
    frame: pl.DataFrame,
    lines: pl.DataFrame,
    seeds: Mapping[str, str] | None,
) -> CampaignFacts:
    """The facts of ``campaigns`` over ``frame`` (``seq``, ``member``, ``at``, ``total``,
    ``shipping``, ``channel``, ``store``, ``external_id``) and its ``lines``."""
    rates = compile_program(program)
    timezone = program.program.timezone
    prepared = prepare_purchases(
        frame.rename({"at": "occurred_at"}), purchase_key="seq", member_key="member"
    )
    line_frame = prepare_lines(lines, prepared, purchase_key="seq")
    compiled = [compile_conditions(program, campaign.when) for campaign in campaigns]
    line_frame = line_frame.with_columns(
        line_scope(when).alias(f"scope_{c}") for c, when in enumerate(compiled)
    )
    facts = line_frame.group_by(KEY).agg(
        pl.col("amount").sum().alias("goods"),
        *(pl.col(f"scope_{c}").any().alias(f"any_{c}") for c in range(len(compiled))),
        *(
            pl.col("amount").filter(pl.col(f"scope_{c}")).sum().alias(f"selected_{c}")
            for c in range(len(compiled))
        ),
    )
    purchases = prepared.join(facts, on=KEY, how="left", maintain_order="left")
    purchases = purchases.with_columns(
        pl.col("goods").fill_null(0).cast(pl.Int128),
        *(pl.col(f"any_{c}").fill_null(False) for c in range(len(compiled))),
        *(pl.col(f"selected_{c}").fill_null(0).cast(pl.Int128) for c in range(len(compiled))),
        *local_columns(timezone, exclude_shipping=rates.exclude_shipping),
    )
    shipping = pl.lit(0) if rates.exclude_shipping else pl.col("shipping")
    at = purchases["at"].dt.epoch("us").to_numpy().astype(np.int64)
    expressions: list[pl.Expr] = []
    points: list[pl.Expr] = []
    for c, (campaign, when) in enumerate(zip(campaigns, compiled, strict=True)):
        start, end = campaign.window.bounds(timezone)
        parts = [
            pl.lit(True),
            pl.col("at") >= start.astimezone(UTC),
            pl.col("at") < end.astimezone(UTC),
        ]
        parts += [
            FRAME_CHECKS[kind].expression(when)
            for kind in when.purchase_kinds
            if kind is not ConditionType.TIER_IN
        ]
        if when.has_line_scope:
            parts.append(pl.col(f"any_{c}"))
        expressions.append(pl.all_horizontal(parts).alias(f"live_{c}"))
        kind, value = campaign_effect(campaign)
        if kind in _FIXED:
            points.append(pl.lit(int(value), dtype=pl.Int64).alias(f"points_{c}"))
            continue
        a, b = ratio_of(Decimal(value))
        spend = (
            pl.col(f"selected_{c}")
            if kind is EffectType.MULTIPLY_LINES
            else pl.col("goods") + shipping.cast(pl.Int128)
        )
        numerator = spend * (rates.points * (a - b))
        rounded = _rounded(numerator, rates.per_amount * b, rates.rounding.value)
        points.append(rounded.cast(pl.Int64).alias(f"points_{c}"))
    periods: list[list[str] | None] = []
    for campaign in campaigns:
        limits = campaign.limits
        if limits is None or limits.per_member is None:
            periods.append(None)
        else:
            keys = purchases.with_columns(period_key(limits.period).alias("period_key"))
            periods.append(keys["period_key"].to_list())  # a lifetime key: one for every row
    scored = purchases.select(*expressions, *points) if campaigns else pl.DataFrame()
    count = purchases.height
    candidate = np.zeros((count, len(campaigns)), dtype=bool)
    amounts = np.zeros((count, len(campaigns)), dtype=np.int64)
    external = frame["external_id"].to_list() if "external_id" in frame.columns else []
    paid = (purchases["total"] - purchases["shipping"]).to_numpy().astype(np.int64)
    money_budgets = tuple(money_budget(program, campaign) for campaign in campaigns)
    for c, campaign in enumerate(campaigns):
        candidate[:, c] = scored[f"live_{c}"].to_numpy()
        amounts[:, c] = scored[f"points_{c}"].to_numpy()
        prize = campaign.prize
        if prize is not None and prize.probability is not None:
            assert seeds is not None
            seed = seeds[campaign.key]
            for row in np.flatnonzero(candidate[:, c]).tolist():
                won = prize_draw(seed, campaign.key, str(external[row])) < prize.ppm
                candidate[row, c] = won
    return CampaignFacts(
        campaigns=campaigns,
        candidate=candidate,
        points=amounts,
        tiers=tuple(
            _admitted_tiers(campaign, when.tiers)
            for campaign, when in zip(campaigns, compiled, strict=True)
        ),
        periods=tuple(periods),
        member=purchases[MEMBER].cast(pl.String).to_numpy(),  # history keys: text; db: ids
        at=at,
        total=purchases["total"].to_numpy().astype(np.int64),
        paid=paid,
        cost=tuple(
            cashback(program, campaign, paid) if budget is not None else None
            for campaign, budget in zip(campaigns, money_budgets, strict=True)
        ),
        money_budgets=money_budgets,
    )


def money_budget(program: Program, campaign: Campaign) -> int | None:
    """The campaign's money budget in minor units, or ``None``."""
    budget = campaign.budget
    if budget is None or budget.money is None:
        return None
    return program.minor(budget.money)


def cashback(program: Program, campaign: Campaign, paid: np.ndarray) -> np.ndarray:
    """What the campaign's ``credit_wallet`` effects credit to purchases that paid ``paid``
    (total less shipping; the history holds no wallet payments), in minor units: the
    arithmetic of :meth:`patron.rules.vocabulary.effects.CreditWallet.cashback` on a column."""
    credited = np.zeros(len(paid), dtype=np.int64)
    for item in campaign.deferred:
        effect = item.credit_wallet
        if effect is None:
            continue
        if effect.percent is None:
            assert effect.amount is not None
            credited += program.minor(effect.amount)
        else:
            hundredths_of_bp = int(effect.percent * 10_000)  # exact: at most 4 decimal places
            credited += np.maximum(paid, 0) * hundredths_of_bp // 1_000_000
    return credited
