"""The segments (``/admin/segments``): the RFM segments and the behavioural groups of the last
segments refresh with their sizes, the (R, F) grid, and for each segment a link to the members
list filtered by it. The same service as ``GET /api/v1/analytics/rfm`` and ``patron analytics
rfm`` (``patron.segments.service.rfm_overview``); it reads, never refreshes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from patron.kit.errors import PatronError
from patron.programs import service as program_service
from patron.segments import service as segment_service
from patron.web.auth import StaffSession, database_of, remember
from patron.web.messages import error_text, labels
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)


def group_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "high_value": _("High value"),
        "regular": _("Regular buyers"),
        "category_lover": _("Category lovers"),
        "at_risk": _("At risk of churning"),
    }


@router.get("/admin/segments")
async def segments_page(request: Request, _: StaffSession) -> Response:
    language: str = request.state.language
    context: dict[str, Any] = {
        "overview": None,
        "error": "",
        "names": labels(language)["segment"],
        "groups": group_labels(language),
    }
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
            context["overview"] = await segment_service.rfm_overview(
                session,
                program_key=active.key,
                program_id=active.program_id,
                program=active.program,
            )
        except PatronError as error:
            context["error"] = error_text(error, language)
    return remember(request, render(request, "segments.html", context))
