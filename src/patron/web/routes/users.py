"""Console users (``/admin/users``, admin only): the list, and disabling or enabling a user
(each change audited with the acting user). An admin cannot disable themselves."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from patron.access import users as user_service
from patron.access.schemas import ConsoleSession
from patron.kit.errors import NotFoundError
from patron.kit.time import utcnow
from patron.web.audit import audited
from patron.web.auth import AdminSession, checked_form, database_of, remember
from patron.web.messages import error_text
from patron.web.params import PageId
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
UserId = PageId


@router.get("/admin/users")
async def users_page(request: Request, _: AdminSession, notice: str = "") -> Response:
    async with database_of(request).read() as session:
        users = await user_service.list_users(session)
    context = {
        "users": users,
        "notice": notice if notice in ("disabled", "enabled", "self") else "",
    }
    return remember(request, render(request, "users.html", context))


async def _switch(
    request: Request, console: ConsoleSession, user_id: int, disable: bool
) -> Response:
    await checked_form(request, console)
    if disable and user_id == console.user.id:
        return RedirectResponse("/admin/users?notice=self", status_code=303)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            if disable:
                await user_service.disable_user(session, user_id=user_id, now=now)
            else:
                await user_service.enable_user(session, user_id=user_id)
            await audited(
                session,
                console,
                "users.disable" if disable else "users.enable",
                f"user:{user_id}",
                now=now,
            )
    except NotFoundError as error:
        language: str = request.state.language
        context = {"title": error_text(error, language), "message": ""}
        return render(request, "error.html", context, status_code=404)
    notice = "disabled" if disable else "enabled"
    return RedirectResponse(f"/admin/users?notice={notice}", status_code=303)


@router.post("/admin/users/{user_id}/disable")
async def disable(request: Request, console: AdminSession, user_id: UserId) -> Response:
    return await _switch(request, console, user_id, disable=True)


@router.post("/admin/users/{user_id}/enable")
async def enable(request: Request, console: AdminSession, user_id: UserId) -> Response:
    return await _switch(request, console, user_id, disable=False)
