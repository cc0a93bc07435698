"""The simulation report (its JSON form is documented in ``docs/simulator.md``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from patron.purchases.bulk.report import RowError

RATE_PLACES = Decimal("0.0001")


def decimal_text(value: Fraction) -> str:
    """A fraction as a decimal string with 4 places (half up), for rates and point values."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(RATE_PLACES, rounding="ROUND_HALF_UP"))


@dataclass(frozen=True, slots=True)
class MonthReport:
    """One local month: points issued and expired in it; pending, available, outstanding,
    liability and members per tier at its end; the expected cost of the month's points."""

    month: str
    end: datetime
    points_issued: int
    points_expired: int
    points_pending: int
    points_available: int
    points_outstanding: int
    expected_redemption_cost: int
    liability: int
    tiers: dict[str, int]
    points_from_campaigns: int = 0  # of points_issued
    points_from_other_triggers: int = 0  # of points_from_campaigns: campaigns on other triggers

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["end"] = self.end.isoformat()
        return found


@dataclass(frozen=True, slots=True)
class Totals:
    """Over the whole history; ``*_pending``, ``*_available``, ``*_outstanding`` and
    ``liability`` at the last month end. Points and money (minor units) are integers."""

    purchases: int
    members: int
    points_issued: int
    points_expired: int
    points_pending: int
    points_available: int
    points_outstanding: int
    points_expiring_later: int
    expected_redeemed_points: int
    expected_redemption_cost: int
    expected_breakage_points: int
    liability: int
    points_from_rules: int = 0  # of points_issued: the program's earn rules (and tiers)
    points_from_campaigns: int = 0  # of points_issued: the projected campaigns
    points_from_other_triggers: int = 0  # of points_from_campaigns: campaigns on other triggers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """One projected campaign over the history (docs/simulator.md, "Campaigns"): money in
    minor units; ``None`` where the campaign has no such thing."""

    key: str
    name: str
    effect: str | None  # bonus_points, multiply_order, multiply_lines; None: a prize or raffle
    stacking: str
    method: str  # "vectorised" or "ordered"
    applications: int
    participants: int
    points_issued: int
    usage_limit: int | None
    budget_points: int | None
    budget_consumed: int | None
    budget_left: int | None
    budget_exhausted_at: datetime | None  # the first purchase its budget refused
    coupons_issued: int
    wallet_credited: int
    messages: int
    prizes_won: int | None
    raffle_entries: int | None
    trigger: str = "purchase"
    budget_money: int | None = None  # the money budget in minor units
    budget_money_exhausted_at: datetime | None = None  # the first application it refused

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["budget_exhausted_at"] = _iso(self.budget_exhausted_at)
        found["budget_money_exhausted_at"] = _iso(self.budget_money_exhausted_at)
        return found


@dataclass(frozen=True, slots=True)
class NotProjectedReport:
    key: str
    trigger: str
    reason: str


@dataclass(frozen=True, slots=True)
class RewardReport:
    code: str
    kind: str
    cost_points: int
    value: int
    basis: str
    weight: str
    value_per_point: str


@dataclass(frozen=True, slots=True)
class ProgramRun:
    """The replay under one program."""

    name: str
    currency: str
    value_per_point: str  # minor units per point, 4 decimal places
    rewards: list[RewardReport]
    totals: Totals
    months: list[MonthReport]
    tiers: list[str]
    scoring_rounds: int
    campaigns: list[CampaignReport] = field(default_factory=list)
    campaigns_not_projected: list[NotProjectedReport] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "currency": self.currency,
            "value_per_point": self.value_per_point,
            "rewards": [asdict(reward) for reward in self.rewards],
            "totals": self.totals.to_dict(),
            "tiers": self.tiers,
            "months": [month.to_dict() for month in self.months],
            "scoring_rounds": self.scoring_rounds,
            "campaigns": [campaign.to_dict() for campaign in self.campaigns],
            "campaigns_not_projected": [asdict(item) for item in self.campaigns_not_projected],
        }


def _delta_totals(proposed: Totals, baseline: Totals) -> dict[str, int]:
    return {
        item.name: getattr(proposed, item.name) - getattr(baseline, item.name)
        for item in fields(Totals)
        if item.name not in ("purchases", "members")
    }


def _delta_months(proposed: ProgramRun, baseline: ProgramRun) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for mine, theirs in zip(proposed.months, baseline.months, strict=True):
        names = dict.fromkeys([*mine.tiers, *theirs.tiers])
        found.append(
            {
                "month": mine.month,
                "points_issued": mine.points_issued - theirs.points_issued,
                "points_from_campaigns": mine.points_from_campaigns - theirs.points_from_campaigns,
                "points_from_other_triggers": mine.points_from_other_triggers
                - theirs.points_from_other_triggers,
                "points_expired": mine.points_expired - theirs.points_expired,
                "points_outstanding": mine.points_outstanding - theirs.points_outstanding,
                "expected_redemption_cost": mine.expected_redemption_cost
                - theirs.expected_redemption_cost,
                "liability": mine.liability - theirs.liability,
                "tiers": {
                    name: mine.tiers.get(name, 0) - theirs.tiers.get(name, 0) for name in names
                },
            }
        )
    return found


@dataclass(slots=True)
class SimulationReport:
    source: str
    source_kind: str  # "history" or "database"
    purchases: int  # every purchase read, with or without a member
    refused_purchases: int
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    redemption_rate: str
    redemption_rate_source: str  # "option", "database" or "default"
    proposed: ProgramRun
    baseline: ProgramRun | None
    baseline_source: str | None
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0

    def difference(self) -> dict[str, Any] | None:
        if self.baseline is None:
            return None
        return {
            "totals": _delta_totals(self.proposed.totals, self.baseline.totals),
            "months": _delta_months(self.proposed, self.baseline),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": {
                "kind": self.source_kind,
                "name": self.source,
                "purchases": self.purchases,
                "refused_purchases": self.refused_purchases,
                "first_purchase_at": _iso(self.first_purchase_at),
                "last_purchase_at": _iso(self.last_purchase_at),
            },
            "assumptions": {
                "redemption_rate": self.redemption_rate,
                "redemption_rate_source": self.redemption_rate_source,
                "tier_reviews": "month_end",
            },
            "proposed": self.proposed.to_dict(),
            "baseline": None
            if self.baseline is None
            else {"source": self.baseline_source, **self.baseline.to_dict()},
            "difference": self.difference(),
            "errors": [error.to_dict() for error in self.errors],
            "seconds": round(self.seconds, 3),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
