"""Feedback (``/admin/feedback``): NPS, CSAT and CES with the reviews answered within 24 hours
over a period, the ranked problem table of the feedback analysis (topics by count and
severity, with the trend against the period before), and the latest survey answers with their
sentiment and language, each linking to its member. The same services as
``GET /api/v1/feedback/kpis``, ``GET /api/v1/feedback/problems`` and the survey responses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from patron.feedback import service as feedback_service
from patron.kit.errors import NotFoundError, PatronError
from patron.kit.time import utcnow
from patron.members import service as member_service
from patron.programs import service as program_service
from patron.web.auth import StaffSession, database_of, remember
from patron.web.i18n import Formats
from patron.web.messages import error_text, labels
from patron.web.routes.reviews import sentiment_labels
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
# the period picker: days back from now
PERIODS = {"30": 30, "90": 90, "365": 365}
DEFAULT_PERIOD = "30"
LATEST = 20  # survey responses shown


async def _names(session: Any, member_ids: set[int]) -> dict[int, str]:
    """Each member's name (or card number) for the links."""
    names: dict[int, str] = {}
    for member_id in sorted(member_ids):
        try:
            member = await member_service.get_member(session, member_id=member_id)
        except NotFoundError:
            continue
        names[member_id] = member.name or member.external_id
    return names


@router.get("/admin/feedback")
async def feedback_page(
    request: Request, _: StaffSession, period: str = DEFAULT_PERIOD
) -> Response:
    language: str = request.state.language
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    words = labels(language)
    suggestion = gettext_for(language)("suggestion")  # the analysis's fourth label
    context: dict[str, Any] = {
        "period": period,
        "periods": list(PERIODS),
        "error": "",
        "kpis": None,
        "table": None,
        "responses": [],
        "names": {},
        "topics": words["topic"],
        "trends": words["trend"],
        "languages_by_code": words["language"],
        "sentiments": {**sentiment_labels(language), "suggestion": suggestion},
    }
    end = utcnow()
    start = end - timedelta(days=PERIODS[period])
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
            context["kpis"] = await feedback_service.kpis(session, start=start, end=end)
            context["table"] = await feedback_service.problems(session, start=start, end=end)
            responses = await feedback_service.latest_responses(session, limit=LATEST)
            context["responses"] = responses
            context["names"] = await _names(session, {item.member_id for item in responses})
            context["fmt"] = Formats(language, active.program.program.timezone)
        except PatronError as error:
            context["error"] = error_text(error, language)
    return remember(request, render(request, "feedback.html", context))
