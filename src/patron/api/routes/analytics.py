"""``/analytics``: loyalty KPIs of the active program (admin and staff)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from patron.analytics.kpis.errors import GroupingUnavailableError, KpiWindowError
from patron.analytics.kpis.inputs import KpiSettings, Period
from patron.analytics.kpis.service import Breakdown, KpiQuery, kpi_report
from patron.api.deps import Now, ReadSession, Staff
from patron.api.params import YEARS_1970_2200, IsoDay, years
from patron.api.responses import raises
from patron.kit.strict import DIGITS
from patron.programs.errors import ProgramNotFoundError

router = APIRouter(prefix="/analytics", tags=["analytics"])

_YEARS = years(YEARS_1970_2200)
Rate = Annotated[float | None, Query(ge=0, le=1, allow_inf_nan=False)]


@router.get("/kpis", response_model=dict[str, Any])
@raises(ProgramNotFoundError, KpiWindowError, GroupingUnavailableError)
async def kpis(
    session: ReadSession,
    _: Staff,
    now: Now,
    first: Annotated[IsoDay | None, Query(alias="from", json_schema_extra=_YEARS)] = None,
    last: Annotated[IsoDay | None, Query(alias="to", json_schema_extra=_YEARS)] = None,
    baseline_from: Annotated[IsoDay | None, Query(json_schema_extra=_YEARS)] = None,
    baseline_to: Annotated[IsoDay | None, Query(json_schema_extra=_YEARS)] = None,
    by: Annotated[list[Breakdown] | None, Query()] = None,
    period: Period = Period.MONTH,
    margin_rate: Rate = None,
    point_value: Annotated[float | None, Query(ge=0, le=1e9, allow_inf_nan=False)] = None,
    expected_redemption_rate: Rate = None,
    operating_cost: Annotated[int, Query(ge=0, le=10**15), DIGITS] = 0,
) -> dict[str, Any]:
    """Every KPI of ``docs/metrics.md`` for the days ``from``..``to`` (UTC, both included;
    default: from the first purchase to today), optionally against a baseline and broken
    down ``by`` tier or segment. Money in minor units of the program currency."""
    query = KpiQuery(
        first=first,
        last=last,
        baseline_first=baseline_from,
        baseline_last=baseline_to,
        by=tuple(dict.fromkeys(by or ())),
        settings=KpiSettings(
            margin_rate=margin_rate,
            point_value=point_value,
            expected_redemption_rate=expected_redemption_rate,
            operating_cost=operating_cost,
            period=period,
        ),
    )
    return await kpi_report(session, query=query, today=now.date())
