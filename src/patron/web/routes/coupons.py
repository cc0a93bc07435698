"""Coupons (``/admin/coupons``): look a coupon up by its code and see its state (to use, used,
cancelled, out of date), its reward, its member and its times; an admin cancels a coupon that
can still be used, after a confirmation page: its points go back to the member as a new lot
and its stock is given back, exactly as ``POST /api/v1/coupons/{code}/cancel`` does
(``patron.rewards.service.cancel_coupon``), audited as ``rewards.cancel_coupon`` with the
console user."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from patron.kit.errors import ConflictError, NotFoundError, PatronError
from patron.kit.time import utcnow
from patron.members import service as member_service
from patron.programs import service as program_service
from patron.rewards import service as reward_service
from patron.rewards.schemas import CouponView
from patron.web.audit import audited
from patron.web.auth import AdminSession, StaffSession, checked_form, database_of, remember
from patron.web.messages import error_text, labels
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
CouponCode = Annotated[str, Path(min_length=1, max_length=64)]
CodeQuery = Annotated[str, Query(max_length=64)]
# the notices after a cancellation: done, or the state that refused it
NOTICES = ("cancelled", "coupon_used", "coupon_cancelled", "coupon_expired")


def state_of(coupon: CouponView, now: datetime) -> str:
    """``active`` (to use), ``consumed``, ``cancelled`` or ``expired`` (active but past its
    ``valid_until``): the coupon's state as the page shows it."""
    if coupon.status.value == "active" and coupon.valid_until and coupon.valid_until <= now:
        return "expired"
    return coupon.status.value


def _address(code: str, notice: str = "") -> str:
    query = f"code={quote(code, safe='')}"
    return f"/admin/coupons?{query}" + (f"&notice={notice}" if notice else "")


async def _found(request: Request, code: str) -> dict[str, Any]:
    """The coupon with ``code`` and its member (``coupon`` None and ``problem`` set when
    there is none)."""
    language: str = request.state.language
    found: dict[str, Any] = {"coupon": None, "member": None, "problem": "", "state": ""}
    async with database_of(request).read() as session:
        try:
            coupon = await reward_service.find_coupon(session, code=code)
            member = await member_service.get_member(session, member_id=coupon.member_id)
        except PatronError as error:
            found["problem"] = error_text(error, language)
            return found
    found.update(coupon=coupon, member=member, state=state_of(coupon, utcnow()))
    return found


@router.get("/admin/coupons")
async def coupons_page(
    request: Request, _: StaffSession, code: CodeQuery = "", notice: str = ""
) -> Response:
    code = code.strip()
    context: dict[str, Any] = {
        "code": code,
        "coupon": None,
        "member": None,
        "problem": "",
        "state": "",
        "notice": notice if notice in NOTICES else "",
        "labels": labels(request.state.language),
    }
    if code:
        context.update(await _found(request, code))
    return remember(request, render(request, "coupons.html", context))


@router.get("/admin/coupons/{code}/cancel")
async def confirm_cancel(request: Request, _: AdminSession, code: CouponCode) -> Response:
    found = await _found(request, code)
    if found["coupon"] is None:
        context = {"title": found["problem"], "message": ""}
        return render(request, "error.html", context, status_code=404)
    context = {**found, "labels": labels(request.state.language)}
    return remember(request, render(request, "coupon_cancel.html", context))


@router.post("/admin/coupons/{code}/cancel")
async def cancel(request: Request, console: AdminSession, code: CouponCode) -> Response:
    await checked_form(request, console)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            active = await program_service.get_active_program(session)
            done = await reward_service.cancel_coupon(session, active=active, code=code, now=now)
            target = f"coupon:{done.coupon.code}"
            await audited(session, console, "rewards.cancel_coupon", target, now=now)
    except NotFoundError as error:
        context = {"title": error_text(error, request.state.language), "message": ""}
        return render(request, "error.html", context, status_code=404)
    except ConflictError as error:  # used, cancelled or out of date: nothing changed
        return RedirectResponse(_address(code.strip().upper(), error.code), status_code=303)
    return RedirectResponse(_address(done.coupon.code, "cancelled"), status_code=303)
