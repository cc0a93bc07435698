"""Money budgets (``budget: {money: "500.00"}``): what a purchase's cashback costs each
campaign (the ``credit_wallet`` effects it will credit, in minor units), claimed with the
points budget in one counter statement (:mod:`patron.campaigns.service`), and the money
budget's ``spent`` alert (docs/campaigns.md, "Money budgets")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from patron.campaigns.events import CampaignBudgetAlert
from patron.kit.money import format_amount
from patron.programs.schema import Program
from patron.rules.campaigns import CampaignCheck


@dataclass(frozen=True, slots=True)
class Money:
    """What the campaigns' cashback costs a purchase: ``costs`` per campaign key (minor units,
    the ``credit_wallet`` effects' sum for this purchase), the money budgets in minor units,
    and the currency (for the reasons)."""

    costs: dict[str, int] = field(default_factory=dict)
    budgets: dict[str, int] = field(default_factory=dict)
    currency: str = ""


NO_MONEY = Money()


def money_of(program: Program, checks: Iterable[CampaignCheck], paid: int) -> Money:
    """The cashback each campaign of ``checks`` would credit for a purchase whose goods were
    paid ``paid`` (minor units, other than from the wallet), and the money budgets."""
    costs: dict[str, int] = {}
    budgets: dict[str, int] = {}
    for check in checks:
        campaign = check.campaign
        if campaign.budget is not None and campaign.budget.money is not None:
            budgets[check.key] = program.minor(campaign.budget.money)
        cost = 0
        for item in campaign.deferred:
            credit = item.credit_wallet
            if credit is not None:
                minor = program.minor(credit.amount) if credit.amount is not None else 0
                cost += credit.cashback(paid, minor)
        if cost:
            costs[check.key] = cost
    return Money(costs, budgets, program.currency)


def money_alert(
    key: str, *, spent: int | None, cost: int, due: int | None, budget: int | None, currency: str
) -> CampaignBudgetAlert | None:
    """The money budget's ``spent`` alert when the claim of ``cost`` took the money spent
    across ``due`` (``None`` otherwise; the caller records it once)."""
    if spent is None or due is None or budget is None or not spent - cost < due <= spent:
        return None
    return CampaignBudgetAlert(
        campaign_key=key,
        alert="spent",
        budget="money",
        budget_points=None,
        spent_points=None,
        percent_spent=spent * 100 // budget,
        budget_money=format_amount(budget, currency),
        spent_money=format_amount(spent, currency),
        currency=currency,
    )
