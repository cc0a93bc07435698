"""A member's personal data from the console, admins only, as the API's
``GET /api/v1/members/{id}/export`` and ``POST /api/v1/members/{id}/erase`` do it
(:mod:`patron.privacy.service`):

- ``POST /admin/members/{id}/export``: the export as a JSON download, the same document as the
  API's; a form (with the session's CSRF token) so that no link or page of another site can
  make a browser export; audited as ``members.export`` (no change) with the console user.
- ``GET /admin/members/{id}/erase``: the confirmation page (what erasure removes and keeps);
  ``POST`` erases once the admin typed the member's card number, audited as
  ``members.erase`` with the console user (a second erasure changes nothing and is audited
  as no change)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from patron.audit import service as audit_service
from patron.kit.errors import NotFoundError
from patron.kit.time import utcnow
from patron.members import service as member_service
from patron.privacy import service as privacy_service
from patron.web.audit import audited
from patron.web.auth import AdminSession, checked_form, database_of, remember
from patron.web.messages import error_text
from patron.web.routes.members import MemberId
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
NOTICES = ("mismatch",)


def _missing(request: Request, error: NotFoundError) -> Response:
    context = {"title": error_text(error, request.state.language), "message": ""}
    return render(request, "error.html", context, status_code=404)


@router.post("/admin/members/{member_id}/export")
async def export(request: Request, console: AdminSession, member_id: MemberId) -> Response:
    await checked_form(request, console)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            exported = await privacy_service.export_member(session, member_id=member_id, now=now)
            audit_service.note(session, changed=False)
            await audited(session, console, "members.export", f"member:{member_id}", now=now)
    except NotFoundError as error:
        return _missing(request, error)
    name = f"member-{member_id}-{now:%Y%m%d-%H%M%S}.json"
    return Response(
        exported.model_dump_json(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/admin/members/{member_id}/erase")
async def confirm_erase(
    request: Request, _: AdminSession, member_id: MemberId, notice: str = ""
) -> Response:
    async with database_of(request).read() as session:
        try:
            member = await member_service.get_member(session, member_id=member_id)
        except NotFoundError as error:
            return _missing(request, error)
    context = {"member": member, "notice": notice if notice in NOTICES else ""}
    return remember(request, render(request, "member_erase.html", context))


@router.post("/admin/members/{member_id}/erase")
async def erase(request: Request, console: AdminSession, member_id: MemberId) -> Response:
    form = await checked_form(request, console)
    now = utcnow()
    typed = form.get("confirm", "").strip()
    try:
        async with database_of(request).write() as session:
            member = await member_service.get_member(session, member_id=member_id)
            if member.erased_at is None and not hmac.compare_digest(
                typed.encode(), member.external_id.encode()
            ):
                return RedirectResponse(
                    f"/admin/members/{member_id}/erase?notice=mismatch", status_code=303
                )
            await privacy_service.erase_member(session, member_id=member_id, now=now)
            await audited(session, console, "members.erase", f"member:{member_id}", now=now)
    except NotFoundError as error:
        return _missing(request, error)
    return RedirectResponse(f"/admin/members/{member_id}?notice=erased", status_code=303)
