"""The coalition's partners (``/admin/partners``, admin only, as the API's ``/partners``):
the program's partners with their earn rate and prices per point, and the settlement of a
period, for every partner on the list and for one on its own page (a month, or from one day
to another, in the program's time zone).

The figures are the settlement service's (``patron.partners.settlement.settlements``), the
same as ``GET /api/v1/partners/{id}/settlement`` and ``patron partners settlement`` give for
the same instants; the page names that request and that command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from patron.kit.errors import NotFoundError, PatronError
from patron.kit.time import utcnow
from patron.partners import service as partner_service
from patron.partners import settlement as partner_settlement
from patron.programs import service as program_service
from patron.web.auth import AdminSession, database_of, remember
from patron.web.messages import error_text
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
PartnerId = Annotated[str, Path(min_length=1, max_length=48)]


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days ``first`` to ``last`` (both included) in the program's time zone, and the
    instants ``[start, end)`` the settlement counts."""

    first: date
    last: date
    start: datetime
    end: datetime
    month: str  # "YYYY-MM" when the period is one calendar month, else ""

    def shifted(self, months: int) -> str:
        """The ``YYYY-MM`` of the month ``months`` away from this period's first day."""
        index = self.first.year * 12 + self.first.month - 1 + months
        return f"{index // 12:04d}-{index % 12 + 1:02d}"

    def api_path(self, partner_id: str) -> str:
        return (
            f"/api/v1/partners/{partner_id}/settlement"
            f"?from={_utc_text(self.start)}&to={_utc_text(self.end)}"
        )

    def command(self, partner_id: str | None) -> str:
        only = f" --partner {partner_id}" if partner_id else ""
        start, end = (
            self.start.strftime("%Y-%m-%dT%H:%M:%S"),
            self.end.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        return f"patron partners settlement --from {start} --to {end}{only}"


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _days(first: date, last: date, zone: ZoneInfo, month: str = "") -> Period:
    def midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

    return Period(first, last, midnight(first), midnight(last + timedelta(days=1)), month)


def _month(text: str, zone: ZoneInfo) -> Period:
    """The calendar month ``YYYY-MM``; ``ValueError`` if it is not one."""
    if len(text) != 7:
        raise ValueError(text)
    first = date.fromisoformat(f"{text}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return _days(first, following - timedelta(days=1), zone, month=text)


def period_of(
    zone: ZoneInfo, *, month: str, start: str, end: str, today: date, language: str
) -> tuple[Period, str]:
    """The period a page asks for (``from`` and ``to`` days, else ``month``, else this month)
    and the problem with what was asked ("" when none: then this month is shown)."""
    _ = gettext_for(language)
    this_month = _month(today.strftime("%Y-%m"), zone)
    if start or end:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            return this_month, _("Give both days as dates such as 2026-11-30.")
        if last < first:
            return this_month, _("The last day must not come before the first.")
        if first.year < 2000 or last.year > 2999:
            return this_month, _("Give both days as dates such as 2026-11-30.")
        return _days(first, last, zone), ""
    if month:
        try:
            found = _month(month, zone)
        except ValueError:
            return this_month, _("Choose a month such as 2026-11.")
        if not 2000 <= found.first.year <= 2999:
            return this_month, _("Choose a month such as 2026-11.")
        return found, ""
    return this_month, ""


async def _settlement_page(
    request: Request, partner_id: str | None, month: str, start: str, end: str
) -> Response:
    language: str = request.state.language
    context: dict[str, Any] = {"error": "", "problem": "", "partner_id": partner_id}
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
        except PatronError as error:
            context["error"] = error_text(error, language)
            return remember(request, render(request, "partners.html", context))
        zone = ZoneInfo(active.program.program.timezone)
        today = utcnow().astimezone(zone).date()
        period, problem = period_of(
            zone, month=month, start=start, end=end, today=today, language=language
        )
        try:
            settlements = await partner_settlement.settlements(
                session, active=active, start=period.start, end=period.end, partner_id=partner_id
            )
        except NotFoundError as error:
            title = {"title": error_text(error, language), "message": ""}
            return render(request, "error.html", title, status_code=404)
    partners = partner_service.list_partners(active)
    context |= {
        "partners": [p for p in partners if partner_id in (None, p.id)],
        "settlements": settlements,
        "period": period,
        "problem": problem,
        "zone": str(zone),
        "known": {p.id for p in partners},
    }
    template = "partners.html" if partner_id is None else "partner.html"
    page = render(request, template, context, status_code=422 if problem else 200)
    return remember(request, page)


@router.get("/admin/partners")
async def partners_page(request: Request, _: AdminSession, month: str = "") -> Response:
    return await _settlement_page(request, None, month, "", "")


@router.get("/admin/partners/{partner_id}")
async def partner_page(
    request: Request,
    _: AdminSession,
    partner_id: PartnerId,
    month: str = "",
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
) -> Response:
    return await _settlement_page(request, partner_id, month, start, end)
