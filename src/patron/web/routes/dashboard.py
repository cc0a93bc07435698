"""The dashboard (``/admin``): KPI tiles and the monthly sales chart of the active program,
for a period picked from a few presets, and what needs attention today
(:mod:`patron.web.attention`). The tiles come from the services behind
``patron analytics kpis`` (members, points, sales), the feedback KPIs (NPS, reviews answered
within 24 hours) and the support KPIs (tickets answered within the first-response target)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel.numbers import get_decimal_symbol, get_group_symbol
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from patron.analytics.kpis.service import EARLIEST, KpiQuery, kpi_report
from patron.feedback.kpis import kpis as feedback_kpis
from patron.kit import money
from patron.kit.errors import PatronError
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.programs import service as program_service
from patron.support.kpis import ticket_kpis
from patron.web.attention import attention_today
from patron.web.auth import StaffSession, database_of, remember
from patron.web.i18n import Formats
from patron.web.messages import error_text, labels
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
# period picker: value -> days back from today (None: the whole history)
PERIODS: dict[str, int | None] = {"30": 30, "90": 90, "365": 365, "all": None}


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/admin", status_code=303)


def _query(period: str, today: date) -> KpiQuery:
    days = PERIODS[period]
    if days is None:
        return KpiQuery()
    return KpiQuery(first=today - timedelta(days=days - 1), last=today)


def tiles(report: dict[str, Any], language: str, pending: int) -> list[dict[str, str]]:
    """The dashboard's tiles: label and value, formatted for ``language``; ``pending``: the
    points still pending now (the ledger's, whatever the period)."""
    _ = gettext_for(language)
    fmt = Formats(language)
    program, points = report["program"], report["program"]["points"]
    sales = report["customers"]["sales"]
    currency = program["currency"]
    return [
        {"label": _("Members"), "value": fmt.number(program["enrolled"])},
        {"label": _("Active members"), "value": fmt.number(program["active"])},
        {"label": _("Points issued"), "value": fmt.number(points["issued"])},
        {"label": _("Points redeemed"), "value": fmt.number(points["redeemed"])},
        {"label": _("Points expired"), "value": fmt.number(points["expired"])},
        {"label": _("Points pending now"), "value": fmt.number(pending)},
        {"label": _("Outstanding points"), "value": fmt.number(points["outstanding"])},
        {"label": _("Outstanding liability"), "value": fmt.money(points["liability"], currency)},
        {"label": _("Redemption rate"), "value": fmt.percent(points["redemption_rate"])},
        {
            "label": _("Members' repeat purchase rate"),
            "value": fmt.percent(sales["members"]["repeat_purchase_rate"]),
        },
        {
            "label": _("Average order value lift"),
            "value": fmt.signed_percent(sales["lift"]["average_order_value"]),
        },
        {
            "label": _("Members' share of sales"),
            "value": fmt.percent(sales["member_share_of_sales"]),
        },
        {"label": _("Net sales"), "value": fmt.money(sales["all"]["net_sales"], currency)},
    ]


def service_tiles(
    nps: float | None, reviews_in_24h: float | None, first_response: float | None, language: str
) -> list[dict[str, str]]:
    """The tiles of feedback and support: NPS, reviews answered within 24 hours, tickets
    answered within the program's first-response target."""
    _ = gettext_for(language)
    fmt = Formats(language)
    return [
        {"label": _("NPS"), "value": fmt.number(round(nps)) if nps is not None else "—"},
        {"label": _("Reviews answered within 24 h"), "value": fmt.percent(reviews_in_24h)},
        {"label": _("Tickets answered on time"), "value": fmt.percent(first_response)},
    ]


async def _service_figures(
    session: Any, active: Any, first: date | None, last: date, now: datetime
) -> tuple[float | None, float | None, float | None]:
    start = datetime.combine(first or EARLIEST, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    feedback = await feedback_kpis(session, start=start, end=end)
    tickets = await ticket_kpis(
        session, active=active, now=now, date_from=start if first else None, date_to=end
    )
    return (
        feedback.overall.nps.value,
        feedback.reviews.share_answered_within_24h,
        tickets.overall.first_response_sla.share,
    )


def _monthly(
    rows: list[dict[str, Any]],
    language: str,
    traces: list[dict[str, Any]],
    layout: dict[str, Any],
    shown: Callable[[dict[str, Any], str], str],
) -> dict[str, Any]:
    """A per-period figure of members and the others: ``traces`` (one per group, in that
    order) with ``layout``, and as table rows each group's ``shown(row, group)``."""
    figure = {
        "data": traces,
        "layout": {
            "margin": {"l": 60, "r": 10, "t": 10, "b": 40},
            "legend": {"orientation": "h"},
            "separators": get_decimal_symbol(language) + get_group_symbol(language),
            **layout,
        },
    }
    table = [
        {
            "period": row["period"],
            "members": shown(row, "member"),
            "others": shown(row, "non_member"),
        }
        for row in rows
    ]
    return {"figure": json.dumps(figure), "table": table}


def sales_chart(report: dict[str, Any], language: str) -> dict[str, Any]:
    """The plotly figure (data and layout) of net sales per period, members and others, and
    the same numbers as table rows (the chart's text alternative)."""
    _ = gettext_for(language)
    fmt = Formats(language)
    currency = report["program"]["currency"]
    rows = report["customers"]["trends"]
    periods = [row["period"] for row in rows]
    scale = 10 ** money.exponent(currency)
    traces = [
        {
            "type": "bar",
            "name": name,
            "x": periods,
            "y": [r[f"{group}_net_sales"] / scale for r in rows],
        }
        for group, name in (("member", _("Members")), ("non_member", _("Non-members")))
    ]
    layout = {"barmode": "stack", "yaxis": {"title": {"text": currency}}}
    return _monthly(
        rows,
        language,
        traces,
        layout,
        lambda row, group: fmt.money(row[f"{group}_net_sales"], currency),
    )


def orders_chart(report: dict[str, Any], language: str) -> dict[str, Any]:
    """The plotly figure of orders per period, members' and others' as two lines (whether
    the program brings members back more often), and the same numbers as table rows."""
    _ = gettext_for(language)
    fmt = Formats(language)
    rows = report["customers"]["trends"]
    periods = [row["period"] for row in rows]
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": periods,
            "y": [row[f"{group}_orders"] for row in rows],
        }
        for group, name in (("member", _("Members")), ("non_member", _("Non-members")))
    ]
    layout = {"yaxis": {"title": {"text": _("Orders")}, "rangemode": "tozero"}}
    return _monthly(
        rows, language, traces, layout, lambda row, group: fmt.number(row[f"{group}_orders"])
    )


@router.get("/admin")
async def dashboard(request: Request, console: StaffSession, period: str = "all") -> Response:
    language: str = request.state.language
    if period not in PERIODS:
        period = "all"
    context: dict[str, Any] = {"period": period, "periods": list(PERIODS), "error": ""}
    now = utcnow()
    query = _query(period, now.date())
    try:
        async with database_of(request).read() as session:
            report = await kpi_report(session, query=query, today=now.date())
            active = await program_service.get_active_program(session)
            figures = await _service_figures(session, active, query.first, now.date(), now)
            pending = await ledger_service.pending_total(
                session, program_id=active.program_id, now=now
            )
            attention = await attention_today(session, active, now, language)
    except PatronError as error:
        context.update(
            error=error_text(error, language), tiles=[], chart=None, orders=None, attention=None
        )
    else:
        shown = tiles(report, language, pending) + service_tiles(*figures, language)
        words = labels(language)
        context.update(
            tiles=shown,
            chart=sales_chart(report, language),
            orders=orders_chart(report, language),
            attention=attention,
            topics=words["topic"],
            trends=words["trend"],
            fmt=Formats(language, active.program.program.timezone),  # the attention's days
        )
    return remember(request, render(request, "dashboard.html", context))
