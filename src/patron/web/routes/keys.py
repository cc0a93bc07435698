"""API keys (``/admin/keys``, admin only): every key with its role (and a partner key's
partner), prefix, expiry, last use and state; creating a key (shown on the answer page only,
never again: only its SHA-256 is stored), a ``partner`` key bound to one of the program's
partners as ``patron keys create --role partner --partner ID`` makes it; revoking one, which
every server process refuses from the moment it commits.

The same services as ``/api/v1/keys`` and ``patron keys``; each change is audited with the
console user (``keys.create``, ``keys.revoke``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from patron.access import service as access_service
from patron.access.models import Role
from patron.access.schemas import ConsoleSession
from patron.audit import service as audit_service
from patron.kit.errors import NotFoundError, PatronError
from patron.kit.time import utcnow
from patron.partners import service as partner_service
from patron.partners.schemas import PartnerView
from patron.programs import service as program_service
from patron.web.audit import audited
from patron.web.auth import AdminSession, checked_form, database_of, remember
from patron.web.messages import error_text
from patron.web.params import PageId
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
KeyId = PageId
NOTICES = ("revoked", "unchanged")
MAX_NAME = 200


def role_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "pos": _("Till (pos)"),
        "staff": _("Staff"),
        "admin": _("Administrator"),
        "partner": _("Partner"),
    }


@dataclass(frozen=True, slots=True)
class ProgramFacts:
    """What the key form needs of the active program: its time zone (an expiry date ends at
    the end of that day there) and its partners (a partner key acts for one of them)."""

    zone: ZoneInfo
    partners: list[PartnerView]


async def _program(request: Request) -> ProgramFacts:
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
        except PatronError:
            return ProgramFacts(ZoneInfo("UTC"), [])
    zone = ZoneInfo(active.program.program.timezone)
    return ProgramFacts(zone, partner_service.list_partners(active))


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A key as the page lists it (never the key itself)."""

    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    partner_id: str | None


async def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    async with database_of(request).read() as session:
        keys = [
            KeyRow(
                id=key.id,
                name=key.name,
                role=key.role,
                prefix=key.prefix,
                created_at=key.created_at,
                expires_at=key.expires_at,
                revoked_at=key.revoked_at,
                last_used_at=key.last_used_at,
                partner_id=key.partner_id,
            )
            for key in await access_service.list_keys(session)
        ]
    now = utcnow()
    base: dict[str, Any] = {
        "keys": keys,
        "now": now,
        "roles": role_labels(request.state.language),
        "created": None,
        "problem": "",
        "notice": "",
        "form": {"name": "", "role": "pos", "expires_on": "", "partner_id": ""},
        "partners": (await _program(request)).partners,
    }
    page = render(request, "keys.html", {**base, **context}, status_code=status_code)
    return remember(request, page)


@router.get("/admin/keys")
async def keys_page(request: Request, _: AdminSession, notice: str = "") -> Response:
    return await _page(request, {"notice": notice if notice in NOTICES else ""})


def _expiry(text: str, zone: ZoneInfo) -> datetime | None:
    """The end of day ``text`` (``YYYY-MM-DD``) in ``zone``, in UTC; ``ValueError`` if bad."""
    if not text:
        return None
    day = date.fromisoformat(text)
    return datetime.combine(day, time.max, tzinfo=zone).astimezone(UTC)


@router.post("/admin/keys")
async def create(request: Request, console: AdminSession) -> Response:
    form = await checked_form(request, console)
    _ = gettext_for(request.state.language)
    name = form.get("name", "").strip()
    role = form.get("role", "")
    expires_on = form.get("expires_on", "").strip()
    partner_id = form.get("partner_id", "").strip()
    given = {"name": name, "role": role, "expires_on": expires_on, "partner_id": partner_id}
    program = await _program(request)
    problem = ""
    expires_at: datetime | None = None
    if not name or len(name) > MAX_NAME or "\x00" in name:
        problem = _("Give the key a name of 1 to 200 characters, e.g. till-3.")
    elif role not in {item.value for item in Role}:
        problem = _("Choose the key's role.")
    elif role == Role.PARTNER.value and partner_id not in {p.id for p in program.partners}:
        problem = _("A partner key acts for one partner: choose it among the program's partners.")
    elif role != Role.PARTNER.value and partner_id:
        problem = _("Only a partner key names a partner: leave the partner empty for this role.")
    else:
        try:
            expires_at = _expiry(expires_on, program.zone)
        except ValueError:
            problem = _("The expiry must be a date such as 2027-12-31.")
    now = utcnow()
    if not problem and expires_at is not None and expires_at <= now:
        problem = _("The expiry must be in the future.")
    if problem:
        return await _page(request, {"problem": problem, "form": given}, status_code=422)
    async with database_of(request).write() as session:
        created = await access_service.create_key(
            session,
            name=name,
            role=Role(role),
            now=now,
            expires_at=expires_at,
            partner_id=partner_id or None,
        )
        await audited(session, console, "keys.create", f"key:{created.id}", now=now)
    page = await _page(request, {"created": created}, status_code=201)
    page.headers["Cache-Control"] = "no-store"  # the key is on this page only
    return page


async def _revoke(request: Request, console: ConsoleSession, key_id: int) -> Response:
    await checked_form(request, console)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            changed = await access_service.revoke_key(session, key_id=key_id, now=now)
            audit_service.note(session, changed=changed)
            await audited(session, console, "keys.revoke", f"key:{key_id}", now=now)
    except NotFoundError as error:
        context = {"title": error_text(error, request.state.language), "message": ""}
        return render(request, "error.html", context, status_code=404)
    notice = "revoked" if changed else "unchanged"
    return RedirectResponse(f"/admin/keys?notice={notice}", status_code=303)


@router.post("/admin/keys/{key_id}/revoke")
async def revoke(request: Request, console: AdminSession, key_id: KeyId) -> Response:
    return await _revoke(request, console, key_id)
