"""What needs attention today, for the dashboard: tickets past their targets, reviews no staff
reply has answered, the top problems of the feedback analysis over the last 30 days, and
campaigns whose budget is spent past its alert share. Each list is short (the dashboard links
to the page where the rest is worked) and read from the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from patron.campaigns import views as campaign_views
from patron.feedback import service as feedback_service
from patron.programs.schemas import ActiveProgram
from patron.support import service as ticket_service
from patron.support.schemas import Ticket, TicketFilter

SHOWN = 5  # items of each list
TOP_PROBLEMS = 3
PROBLEM_DAYS = 30


@dataclass(frozen=True)
class BudgetAlert:
    key: str
    name: str
    spent: int
    budget: int
    share: float


@dataclass
class Attention:
    tickets: list[Ticket] = field(default_factory=list)
    more_tickets: bool = False
    reviews: list[Any] = field(default_factory=list)
    more_reviews: bool = False
    problems: list[Any] = field(default_factory=list)
    budgets: list[BudgetAlert] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.tickets or self.reviews or self.problems or self.budgets)


async def budgets_near_their_end(
    session: Any, active: ActiveProgram, now: datetime, language: str
) -> list[BudgetAlert]:
    """Campaigns not ended whose spent points reached the budget's alert share (``budget.
    alert_percent``, default 80: the share that emits ``campaigns.budget_alert``)."""
    found = []
    for campaign in await campaign_views.list_campaigns(session, active=active, now=now):
        definition = active.program.campaign(campaign.key)
        if campaign.budget is None or definition is None or definition.budget is None:
            continue
        due = definition.budget.alert_at
        budget = campaign.budget
        if campaign.status == "ended" or due is None or budget.points is None or budget.spent < due:
            continue
        found.append(
            BudgetAlert(
                key=campaign.key,
                name=definition.name.pick(language),
                spent=budget.spent,
                budget=budget.points,
                share=budget.spent / budget.points if budget.points else 1.0,
            )
        )
    return sorted(found, key=lambda alert: -alert.share)


async def attention_today(
    session: Any, active: ActiveProgram, now: datetime, language: str
) -> Attention:
    late = await ticket_service.list_tickets(
        session,
        active=active,
        where=TicketFilter(active_only=True, breached=True),
        now=now,
        limit=SHOWN,
    )
    waiting = await feedback_service.list_reviews(session, answered=False, limit=SHOWN)
    start, end = now - timedelta(days=PROBLEM_DAYS), now
    table = await feedback_service.problems(session, start=start, end=end)
    return Attention(
        tickets=late.items,
        more_tickets=late.next_offset is not None,
        reviews=waiting.items,
        more_reviews=waiting.next_after is not None,
        problems=[problem for problem in table.problems if problem.count > 0][:TOP_PROBLEMS],
        budgets=await budgets_near_their_end(session, active, now, language),
    )
