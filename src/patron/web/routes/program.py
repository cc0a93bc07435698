"""The program editor (``/admin/program``): the active version's file, checking an edited file
with every problem shown next to its line, the field-level diff against the active version,
a preview of what the change would do to the points issued (the simulator over this
database's purchases), and, for admins, applying it.

Checking and previewing only read, so staff may do them; applying is what ``PUT
/api/v1/program`` and ``patron program apply`` do (a new version, or nothing when the file
says what the active version says), audited with the console user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from patron.campaigns.prizes import commit_active_seeds
from patron.kit.errors import PatronError
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.document import diff_documents, document_of
from patron.programs.errors import ProgramInvalidError, ProgramProblem
from patron.programs.loader import MAX_CHARACTERS, load_program
from patron.programs.schema import Program
from patron.simulator.schemas import CampaignReport
from patron.simulator.service import simulate_database
from patron.web.audit import audited
from patron.web.auth import AdminSession, StaffSession, checked_form, database_of, remember
from patron.web.messages import error_text
from patron.web.problem_texts import in_language
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
NOTICES = ("applied", "unchanged")
VERSIONS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the file being edited, with the problems found on it."""

    number: int
    text: str
    problems: list[ProgramProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Preview:
    """What the edited program would have done over this database's purchases, against the
    active version: the points issued a month on average, and the totals' differences."""

    months: int
    purchases: int
    points_issued: int
    points_a_month: int
    redemption_cost: int
    liability: int
    currency: str
    campaigns: list[CampaignReport] = field(default_factory=list)  # the edited program's
    not_projected: list[str] = field(default_factory=list)  # keys of campaigns not projected


def annotated_lines(text: str, problems: Sequence[ProgramProblem]) -> list[Line]:
    """The file's lines, each with its problems; a problem without a line (the whole file)
    is not placed (the page lists it above the file)."""
    found: dict[int, list[ProgramProblem]] = {}
    lines = text.splitlines() or [""]
    for problem in problems:
        if problem.line is not None:
            number = min(max(problem.line, 1), len(lines))
            found.setdefault(number, []).append(problem)
    return [
        Line(number=number, text=line, problems=found.get(number, []))
        for number, line in enumerate(lines, start=1)
    ]


def _a_month(total: int, months: int) -> int:
    """``total`` spread over ``months``, rounded half away from zero (integers only)."""
    if months <= 0:
        return 0
    quotient, remainder = divmod(abs(total), months)
    rounded = quotient + (1 if 2 * remainder >= months else 0)
    return rounded if total >= 0 else -rounded


async def _preview(request: Request, program: Program) -> Preview | str:
    """The preview of ``program``, or why there is none (a reason for the page)."""
    async with database_of(request).read() as session:
        try:
            report = await simulate_database(session, program=program)
        except PatronError as error:
            return error_text(error, request.state.language)
    difference = report.difference()
    if difference is None:  # pragma: no cover - a database simulation always has a baseline
        return ""
    months = len(report.proposed.months)
    totals = difference["totals"]
    return Preview(
        months=months,
        purchases=report.purchases,
        points_issued=totals["points_issued"],
        points_a_month=_a_month(totals["points_issued"], months),
        redemption_cost=totals["expected_redemption_cost"],
        liability=totals["liability"],
        currency=program.currency,
        campaigns=report.proposed.campaigns,
        not_projected=[item.key for item in report.proposed.campaigns_not_projected],
    )


async def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
            detail = await program_service.get_version(session, version=active.version)
            versions = (await program_service.list_versions(session))[:VERSIONS_SHOWN]
        except PatronError as error:
            context = {"title": error_text(error, request.state.language), "message": ""}
            return render(request, "error.html", context, status_code=404)
    base: dict[str, Any] = {
        "active": detail,
        "versions": versions,
        "text": detail.source_yaml,
        "checked": False,
        "problems": [],
        "lines": [],
        "changes": [],
        "preview": None,
        "max_characters": MAX_CHARACTERS,
        "notice": "",
        "applied_version": 0,
    }
    return remember(
        request, render(request, "program.html", {**base, **context}, status_code=status_code)
    )


async def _invalid(request: Request, text: str, error: ProgramInvalidError) -> Response:
    """The editor with ``text`` and each of its problems next to its line (422), in the
    page's language."""
    problems = in_language(error.problems, request.state.language)
    context = {
        "text": text,
        "checked": True,
        "problems": problems,
        "lines": annotated_lines(text, problems),
    }
    return await _page(request, context, status_code=422)


@router.get("/admin/program")
async def program_page(
    request: Request, _: StaffSession, notice: str = "", version: int = 0
) -> Response:
    context: dict[str, Any] = {"notice": notice if notice in NOTICES else ""}
    if version > 0:
        context["applied_version"] = version
    return await _page(request, context)


@router.post("/admin/program/check")
async def check(request: Request, console: StaffSession) -> Response:
    form = await checked_form(request, console)
    text = form.get("text", "")
    try:
        program = load_program(text)
    except ProgramInvalidError as error:
        return await _invalid(request, text, error)
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
    # Re-dumped through the model, as applying does: the stored document's key order may differ.
    changes = diff_documents(document_of(active.program), document_of(program))
    preview = await _preview(request, program) if changes else None
    context = {"text": text, "checked": True, "changes": changes, "preview": preview}
    return await _page(request, context)


@router.post("/admin/program/apply")
async def apply(request: Request, console: AdminSession) -> Response:
    form = await checked_form(request, console)
    text = form.get("text", "")
    try:
        async with database_of(request).write() as session:
            applied = await program_service.apply_program(
                session, text=text, created_by=f"console:{console.user.email}"
            )
            await commit_active_seeds(session, program_key=applied.key, now=utcnow())
            await audited(session, console, "program.apply_program", f"program:{applied.key}")
    except ProgramInvalidError as error:
        return await _invalid(request, text, error)
    notice = "unchanged" if applied.status.value == "unchanged" else "applied"
    return RedirectResponse(
        f"/admin/program?notice={notice}&version={applied.version}", status_code=303
    )
