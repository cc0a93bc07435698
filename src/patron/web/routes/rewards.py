"""The rewards catalogue (``/admin/rewards``): every reward of the active program with its
cost, value, tier, stock left and usage (coupons issued, to use, used, cancelled), disabled
ones too; admins create a reward, edit one, disable and enable it again.

Each change is a new program version with the ``rewards:`` section written anew
(``patron.rewards.editing``, as the campaigns' pause and resume), validated like ``patron
program apply`` (a refused file shows every problem on the form and changes nothing), and
audited with the console user: ``rewards.create_reward``, ``rewards.change_reward``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from patron.access.schemas import ConsoleSession
from patron.kit.errors import NotFoundError, PatronError
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.errors import ProgramInvalidError
from patron.rewards import editing
from patron.rewards import service as reward_service
from patron.rewards.errors import RewardNotFoundError
from patron.web.audit import audited
from patron.web.auth import AdminSession, StaffSession, checked_form, database_of, remember
from patron.web.messages import error_text
from patron.web.problem_texts import in_language
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
RewardCode = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
]
NOTICES = ("created", "saved", "disabled", "enabled", "unchanged")
FIELDS = ("code", "name", "description", "kind", "value", "sku", "cost_points", "valid_days",
          "stock", "min_tier")  # fmt: skip
# the name per language (the file's ``names``): empty inputs leave the language out
LANGUAGE_NAMES = {"name_ru": "ru", "name_pl": "pl", "name_en": "en"}


def kind_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "percent_discount": _("Percent discount"),
        "fixed_discount": _("Fixed discount"),
        "free_shipping": _("Free shipping"),
        "free_product": _("Free product"),
        "gift_certificate": _("Gift certificate"),
        "cashback": _("Cashback"),
        "exclusive_access": _("Exclusive access"),
        "partner_voucher": _("Partner voucher"),
    }


def _missing(request: Request, error: PatronError) -> Response:
    context = {"title": error_text(error, request.state.language), "message": ""}
    return render(request, "error.html", context, status_code=404)


async def _tiers(request: Request) -> dict[str, str]:
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
    levels = active.program.tiers.levels if active.program.tiers else []
    return {level.id: level.name for level in levels}


@router.get("/admin/rewards")
async def rewards_page(request: Request, _: StaffSession, notice: str = "") -> Response:
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
        except PatronError as error:
            return _missing(request, error)
        rewards = await reward_service.list_rewards(
            session, active=active, now=utcnow(), include_disabled=True
        )
        usage = await editing.reward_usage(session, program_id=active.program_id)
    levels = active.program.tiers.levels if active.program.tiers else []
    context = {
        "rewards": rewards,
        "usage": usage,
        "empty": editing.RewardUsage(),
        "kinds": kind_labels(request.state.language),
        "tiers": {level.id: level.name for level in levels},
        "notice": notice if notice in NOTICES else "",
    }
    return remember(request, render(request, "rewards.html", context))


def _written(form: dict[str, str], *, new: bool) -> tuple[dict[str, Any], str]:
    """The reward as the program file writes it, from the form (an empty field: its default,
    ``None``), and the first problem the form itself has (else "")."""
    data: dict[str, Any] = {}
    for name in FIELDS:
        if name == "code" and not new:
            continue
        text = form.get(name, "").strip()
        data[name] = text or None
    # every language written out (None: left out), so that an edit's merge patch drops a
    # language the form emptied; no language at all: no ``names``
    names = {lang: form.get(field, "").strip() or None for field, lang in LANGUAGE_NAMES.items()}
    data["names"] = names if any(names.values()) else None
    problem = ""
    for name in ("cost_points", "stock"):
        if data[name] is not None:
            try:
                data[name] = int(data[name])
            except ValueError:
                problem = name
    if data["valid_days"] not in (None, "never"):
        try:
            data["valid_days"] = int(data["valid_days"])
        except ValueError:
            problem = "valid_days"
    if data["value"] is not None:
        try:
            Decimal(data["value"])
        except InvalidOperation:
            problem = "value"
    return data, problem


async def _form_page(
    request: Request,
    *,
    code: str | None,
    form: dict[str, str],
    problems: list[str],
    status_code: int = 200,
) -> Response:
    context = {
        "code": code,
        "form": {name: form.get(name, "") for name in (*FIELDS, *LANGUAGE_NAMES)},
        "problems": problems,
        "kinds": kind_labels(request.state.language),
        "tiers": await _tiers(request),
    }
    return remember(request, render(request, "reward.html", context, status_code=status_code))


def _form_problem(request: Request, name: str) -> str:
    _ = gettext_for(request.state.language)
    if name == "value":
        return str(_("The value must be a number such as 10 or 2.50."))
    return str(_("The cost, the stock and the days must be whole numbers (the days may be never)."))


@router.get("/admin/rewards/new")
async def new_reward(request: Request, _: AdminSession) -> Response:
    form = {name: "" for name in (*FIELDS, *LANGUAGE_NAMES)} | {"kind": "fixed_discount"}
    return await _form_page(request, code=None, form=form, problems=[])


async def _apply(
    request: Request, console: ConsoleSession, code: str | None, form: dict[str, str]
) -> Response:
    data, problem = _written(form, new=code is None)
    target = code or str(data.get("code") or "")
    if problem:
        problems = [_form_problem(request, problem)]
        return await _form_page(request, code=code, form=form, problems=problems, status_code=422)
    now = utcnow()
    creator = f"console:{console.user.email}"
    try:
        async with database_of(request).write() as session:
            if code is None:
                written = {k: v for k, v in data.items() if v is not None}
                if "names" in written:
                    written["names"] = {k: v for k, v in written["names"].items() if v}
                applied = await editing.create_reward(
                    session, program_key=program_service.DEFAULT_KEY, data=written,
                    created_by=creator,
                )  # fmt: skip
                action = "rewards.create_reward"
            else:
                applied = await editing.change_reward(
                    session, program_key=program_service.DEFAULT_KEY, code=code, patch=data,
                    created_by=creator,
                )  # fmt: skip
                action = "rewards.change_reward"
            await audited(session, console, action, f"reward:{target}", now=now)
    except ProgramInvalidError as error:
        problems = [
            problem.format() for problem in in_language(error.problems, request.state.language)
        ]
        return await _form_page(request, code=code, form=form, problems=problems, status_code=422)
    except NotFoundError as error:
        return _missing(request, error)
    except PatronError as error:  # reward_exists, invalid_input
        problems = [error_text(error, request.state.language)]
        return await _form_page(request, code=code, form=form, problems=problems, status_code=422)
    notice = (
        "unchanged"
        if applied.status.value == "unchanged"
        else ("created" if code is None else "saved")
    )
    return RedirectResponse(f"/admin/rewards?notice={notice}", status_code=303)


@router.post("/admin/rewards")
async def create(request: Request, console: AdminSession) -> Response:
    form = await checked_form(request, console)
    return await _apply(request, console, None, form)


@router.get("/admin/rewards/{code}/edit")
async def edit_reward(request: Request, _: AdminSession, code: RewardCode) -> Response:
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
        except PatronError as error:
            return _missing(request, error)
    reward = active.program.reward(code)
    if reward is None:
        return _missing(request, RewardNotFoundError(code))
    written = reward.model_dump(mode="json")
    form = {name: "" if written.get(name) is None else str(written[name]) for name in FIELDS}
    names = written.get("names") or {}
    form |= {field: names.get(lang) or "" for field, lang in LANGUAGE_NAMES.items()}
    return await _form_page(request, code=code, form=form, problems=[])


@router.post("/admin/rewards/{code}/edit")
async def save(request: Request, console: AdminSession, code: RewardCode) -> Response:
    form = await checked_form(request, console)
    return await _apply(request, console, code, form)


async def _switch(request: Request, console: ConsoleSession, code: str, enabled: bool) -> Response:
    await checked_form(request, console)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            applied = await editing.change_reward(
                session,
                program_key=program_service.DEFAULT_KEY,
                code=code,
                patch={"enabled": None if enabled else False},
                created_by=f"console:{console.user.email}",
            )
            await audited(session, console, "rewards.change_reward", f"reward:{code}", now=now)
    except NotFoundError as error:
        return _missing(request, error)
    done = "enabled" if enabled else "disabled"
    notice = "unchanged" if applied.status.value == "unchanged" else done
    return RedirectResponse(f"/admin/rewards?notice={notice}", status_code=303)


@router.post("/admin/rewards/{code}/disable")
async def disable(request: Request, console: AdminSession, code: RewardCode) -> Response:
    return await _switch(request, console, code, False)


@router.post("/admin/rewards/{code}/enable")
async def enable(request: Request, console: AdminSession, code: RewardCode) -> Response:
    return await _switch(request, console, code, True)
