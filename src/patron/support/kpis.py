"""Support KPIs: response and resolution times, SLA compliance, per tier, store, month and
agent. Formulas (docs/support.md has them with a worked example):

- first response time = ``first_response_at - created_at``; resolution time =
  ``resolved_at - created_at`` (the latest resolution of a reopened ticket counts once it is
  resolved again), in whole seconds.
- median and p90 are nearest-rank percentiles: the smallest value such that at least 50 % /
  90 % of the values are at or below it (``sorted[ceil(p * n) - 1]``); no values, no figure.
- SLA compliance of a target: ``within / due``, where ``due`` counts the tickets whose outcome
  is known (answered or resolved, or still unanswered / unresolved past the due time as of
  ``now``) and ``within`` those answered or resolved strictly before their due time.
- CSAT per agent is not computed here: the surface joins the feedback domain's CSAT per
  assignee with :func:`attach_csat` (``AgentKpi.csat`` stays None until then).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.time import local
from patron.programs.schemas import ActiveProgram
from patron.support.repository import KpiRow, TicketRepository


class Compliance(BaseModel):
    model_config = ConfigDict(frozen=True)

    due: int
    within: int
    share: float | None  # within / due, 4 decimals; None when nothing is due


class KpiFigures(BaseModel):
    model_config = ConfigDict(frozen=True)

    tickets: int
    answered: int
    resolved: int
    open: int
    first_response_median_seconds: int | None
    first_response_p90_seconds: int | None
    resolution_median_seconds: int | None
    resolution_p90_seconds: int | None
    first_response_sla: Compliance
    resolution_sla: Compliance
    goodwill_points: int


class GroupKpi(KpiFigures):
    key: str | None


class AgentKpi(GroupKpi):
    """``key`` is the assignee (None: unassigned). ``csat``/``csat_responses`` are the join
    point for the feedback domain's CSAT answers about the agent's tickets."""

    csat: float | None = None
    csat_responses: int = 0


class TicketKpis(BaseModel):
    model_config = ConfigDict(frozen=True)

    date_from: datetime | None
    date_to: datetime | None
    as_of: datetime
    overall: KpiFigures
    by_tier: list[GroupKpi]
    by_store: list[GroupKpi]
    by_month: list[GroupKpi]
    by_agent: list[AgentKpi]


def percentile(values: list[int], share: float) -> int | None:
    """Nearest-rank percentile of ``values`` (``share`` in (0, 1])."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


def _compliance(
    outcomes: Iterable[datetime | None], dues: Iterable[datetime], now: datetime
) -> Compliance:
    due = within = 0
    for done_at, due_at in zip(outcomes, dues, strict=True):
        if done_at is not None:
            due += 1
            within += done_at < due_at
        elif due_at <= now:
            due += 1
    return Compliance(due=due, within=within, share=round(within / due, 4) if due else None)


def figures(rows: list[KpiRow], now: datetime) -> KpiFigures:
    """The KPIs of one group of tickets, as of ``now``."""
    responses = [_seconds(r.created_at, r.first_response_at) for r in rows if r.first_response_at]
    resolutions = [_seconds(r.created_at, r.resolved_at) for r in rows if r.resolved_at]
    answered_or_open = [r for r in rows if r.first_response_at is not None or r.is_active]
    resolved_or_open = [r for r in rows if r.resolved_at is not None or r.is_active]
    return KpiFigures(
        tickets=len(rows),
        answered=len(responses),
        resolved=len(resolutions),
        open=sum(r.is_active for r in rows),
        first_response_median_seconds=percentile(responses, 0.5),
        first_response_p90_seconds=percentile(responses, 0.9),
        resolution_median_seconds=percentile(resolutions, 0.5),
        resolution_p90_seconds=percentile(resolutions, 0.9),
        first_response_sla=_compliance(
            (r.first_response_at for r in answered_or_open),
            (r.first_response_due_at for r in answered_or_open),
            now,
        ),
        resolution_sla=_compliance(
            (r.resolved_at for r in resolved_or_open),
            (r.resolution_due_at for r in resolved_or_open),
            now,
        ),
        goodwill_points=sum(r.goodwill_points for r in rows),
    )


def _grouped(
    rows: list[KpiRow], key: Callable[[KpiRow], str | None], now: datetime
) -> list[GroupKpi]:
    groups: dict[str | None, list[KpiRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    ordered = sorted(groups, key=lambda name: (name is None, name or ""))
    return [GroupKpi(key=name, **figures(groups[name], now).model_dump()) for name in ordered]


def compute(
    rows: list[KpiRow],
    *,
    now: datetime,
    timezone: str,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> TicketKpis:
    """Every view of the KPIs over ``rows``; months are read in ``timezone``."""
    agents = _grouped(rows, lambda r: r.assignee, now)
    return TicketKpis(
        date_from=date_from,
        date_to=date_to,
        as_of=now,
        overall=figures(rows, now),
        by_tier=_grouped(rows, lambda r: r.tier_id, now),
        by_store=_grouped(rows, lambda r: r.store, now),
        by_month=_grouped(rows, lambda r: local(r.created_at, timezone).strftime("%Y-%m"), now),
        by_agent=[AgentKpi(**agent.model_dump()) for agent in agents],
    )


async def ticket_kpis(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    now: datetime,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> TicketKpis:
    """KPIs of the tickets created in ``[date_from, date_to)`` (either end open), as of
    ``now``; months in the program's time zone."""
    rows = await TicketRepository(session).kpi_rows(active.program_id, date_from, date_to)
    return compute(
        rows,
        now=now,
        timezone=active.program.program.timezone,
        date_from=date_from,
        date_to=date_to,
    )


def attach_csat(kpis: TicketKpis, csat_by_agent: Mapping[str, tuple[float, int]]) -> TicketKpis:
    """The join point for CSAT per agent: ``{assignee: (mean CSAT, responses)}``, computed by
    the feedback domain from the surveys sent for
    :func:`~patron.support.service.tickets_resolved_since`."""
    agents = [
        agent.model_copy(
            update={
                "csat": csat_by_agent[agent.key][0],
                "csat_responses": csat_by_agent[agent.key][1],
            }
        )
        if agent.key is not None and agent.key in csat_by_agent
        else agent
        for agent in kpis.by_agent
    ]
    return kpis.model_copy(update={"by_agent": agents})
