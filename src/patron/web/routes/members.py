"""Members: the search (``/admin/members``, by text, tier, RFM segment and abuse flag; its
results as a fragment for htmx) and the member 360 view (``/admin/members/{id}``): profile,
consents, abuse flags, points, cashback wallet, purchases with their "why N points", ledger,
coupons, tier history, tickets, reviews, survey answers, segment, CLV and churn risk; admins
block and unblock a member, clear their abuse flags and adjust their points there (export and
erasure: :mod:`patron.web.routes.member_privacy`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from patron.access.schemas import ConsoleSession
from patron.audit import service as audit_service
from patron.awards.adjust import adjust_points
from patron.kit.errors import InvalidInputError, NotFoundError, PatronError
from patron.kit.ids import random_token
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.ledger.errors import InsufficientPointsError
from patron.members import blocking
from patron.members import flags as member_flags
from patron.members import service as member_service
from patron.members.errors import MemberBlockedError
from patron.members.overview import overview_of
from patron.programs import service as program_service
from patron.purchases.history import member_purchases
from patron.segments import service as segment_service
from patron.tiers import service as tier_service
from patron.wallet import service as wallet_service
from patron.web.activity import member_activity
from patron.web.audit import audited
from patron.web.auth import AdminSession, StaffSession, checked_form, database_of, remember
from patron.web.i18n import Formats
from patron.web.messages import error_text, labels
from patron.web.params import PageId
from patron.web.routes.tickets import status_labels as ticket_status_labels
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
SearchText = Annotated[str, Query(max_length=200)]


TierChoice = Annotated[str, Query(max_length=64)]
SegmentChoice = Annotated[str, Query(max_length=64)]
FlaggedChoice = Annotated[str, Query(max_length=8)]
WALLET_ENTRIES = 10


async def _search(
    request: Request, text: str, tier: str, segment: str, flagged: str = ""
) -> dict[str, Any]:
    """The search's context: the text, the chosen tier and RFM segment (each one of the
    program's, else none), whether only flagged members are asked for (``flagged=true``, as
    the API's ``GET /members?flagged=true``), the program's tiers and segments for the
    pickers, and the members found."""
    language: str = request.state.language
    names = labels(language)
    only_flagged = flagged.lower() in {"true", "1", "on"}
    context: dict[str, Any] = {
        "q": text, "tier": "", "tier_names": {}, "segment": "", "segment_names": {},
        "flagged": only_flagged, "members": [], "error": "", "labels": names,
    }  # fmt: skip
    async with database_of(request).read() as session:
        try:
            active = await program_service.get_active_program(session)
            levels = active.program.tiers.levels if active.program.tiers else []
            context["tier_names"] = {level.id: level.name for level in levels}
            context["tier"] = tier if tier in context["tier_names"] else ""
            context["segment_names"] = {
                name: names["segment"].get(name, name)
                for name in segment_service.segment_names(active.program)
            }
            context["segment"] = segment if segment in context["segment_names"] else ""
            context["members"] = await segment_service.search_members(
                session,
                program_id=active.program_id,
                text=text,
                tier=context["tier"] or None,
                segment=context["segment"] or None,
                flagged=only_flagged,
            )
        except PatronError as error:
            context["error"] = error_text(error, language)
    return context


@router.get("/admin/members")
async def members_page(
    request: Request,
    _: StaffSession,
    q: SearchText = "",
    tier: TierChoice = "",
    segment: SegmentChoice = "",
    flagged: FlaggedChoice = "",
) -> Response:
    context = await _search(request, q, tier, segment, flagged)
    return remember(request, render(request, "members.html", context))


@router.get("/admin/members/results")
async def members_results(
    request: Request,
    _: StaffSession,
    q: SearchText = "",
    tier: TierChoice = "",
    segment: SegmentChoice = "",
    flagged: FlaggedChoice = "",
) -> Response:
    """The result table alone (htmx swaps it in as the search text, the tier, the segment
    or the flag filter changes)."""
    context = await _search(request, q, tier, segment, flagged)
    return render(request, "_member_results.html", context)


MemberId = PageId
# an adjustment as an operator writes it: an optional sign and ASCII digits (int() alone also
# reads "1_0" and Arabic-Indic digits as numbers); its bounds are the service's
_POINTS = re.compile(r"[+-]?[0-9]{1,9}")
NOTICES = (
    "blocked", "unblocked", "reason", "adjusted", "adjust_invalid", "adjust_short",
    "adjust_blocked", "erased", "erased_member", "unflagged",
)  # fmt: skip


@router.get("/admin/members/{member_id}")
async def member_view(
    request: Request, _: StaffSession, member_id: MemberId, notice: str = ""
) -> Response:
    language: str = request.state.language
    now = utcnow()
    async with database_of(request).read() as session:
        try:
            member = await member_service.get_member(session, member_id=member_id)
        except NotFoundError as error:
            missing = {"title": error_text(error, language), "message": ""}
            return render(request, "error.html", missing, status_code=404)
        active = await program_service.get_active_program(session)
        overview = await overview_of(session, member, now=now)
        context: dict[str, Any] = {
            "member": overview,
            "currency": active.program.currency,
            "tiers": {
                level.id: level.name
                for level in (active.program.tiers.levels if active.program.tiers else [])
            },
            "wallet": await wallet_service.wallet_page(
                session,
                member_id=member_id,
                currency=active.program.currency,
                limit=WALLET_ENTRIES,
            ),
            "consent_history": await member_service.consent_history(session, member_id=member_id),
            "purchases": await member_purchases(session, member_id=member_id, limit=20),
            "ledger": (await ledger_service.entries(session, member_id=member_id, limit=30)).items,
            "tier_history": [
                {"from": change.from_tier, "to": change.to_tier, "at": change.occurred_at}
                for change in await tier_service.tier_history(session, member_id=member_id)
            ],
            **await member_activity(session, active, member_id, now, language),
            "ticket_statuses": ticket_status_labels(language),
            "now": now,
            "labels": labels(language),
            "notice": notice if notice in NOTICES else "",
            "adjust_key": random_token(16),  # one per form: a second submit changes nothing
            # times in the program's time zone
            "fmt": Formats(language, active.program.program.timezone),
        }
    return remember(request, render(request, "member.html", context))


async def _block_or_unblock(
    request: Request, console: ConsoleSession, member_id: int, block: bool
) -> Response:
    """Block (with the form's reason) or unblock the member, audited with the acting user;
    back to the member's page with a notice."""
    form = await checked_form(request, console)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            found = await member_service.get_member(session, member_id=member_id)
            if found.erased_at is not None:
                return RedirectResponse(
                    f"/admin/members/{member_id}?notice=erased_member", status_code=303
                )
            if block:
                reason = form.get("reason", "").strip()
                if not reason:
                    return RedirectResponse(
                        f"/admin/members/{member_id}?notice=reason", status_code=303
                    )
                await blocking.block_member(
                    session, member_id=member_id, reason=reason[:500], now=now
                )
            else:
                await blocking.unblock_member(session, member_id=member_id, now=now)
            await audited(
                session,
                console,
                "members.block" if block else "members.unblock",
                f"member:{member_id}",
                now=now,
            )
    except NotFoundError as error:
        missing = {"title": error_text(error, request.state.language), "message": ""}
        return render(request, "error.html", missing, status_code=404)
    notice = "blocked" if block else "unblocked"
    return RedirectResponse(f"/admin/members/{member_id}?notice={notice}", status_code=303)


@router.post("/admin/members/{member_id}/block")
async def block(request: Request, console: AdminSession, member_id: MemberId) -> Response:
    return await _block_or_unblock(request, console, member_id, block=True)


@router.post("/admin/members/{member_id}/unblock")
async def unblock(request: Request, console: AdminSession, member_id: MemberId) -> Response:
    return await _block_or_unblock(request, console, member_id, block=False)


@router.post("/admin/members/{member_id}/adjust")
async def adjust(request: Request, console: AdminSession, member_id: MemberId) -> Response:
    """Add or take points with a reason (``awards.adjust``), audited with the acting user."""
    form = await checked_form(request, console)
    page = f"/admin/members/{member_id}"
    written = form.get("points", "").strip()
    if not _POINTS.fullmatch(written):
        return RedirectResponse(f"{page}?notice=adjust_invalid", status_code=303)
    points = int(written)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            active = await program_service.get_active_program(session)
            await adjust_points(
                session,
                active=active,
                member_id=member_id,
                points=points,
                reason=form.get("reason", ""),
                key=form.get("key", ""),
                actor=f"user:{console.user.id}",
                now=now,
            )
            await audited(session, console, "members.adjust_points", f"member:{member_id}", now=now)
    except NotFoundError as error:
        missing = {"title": error_text(error, request.state.language), "message": ""}
        return render(request, "error.html", missing, status_code=404)
    except InsufficientPointsError:
        return RedirectResponse(f"{page}?notice=adjust_short", status_code=303)
    except MemberBlockedError:
        return RedirectResponse(f"{page}?notice=adjust_blocked", status_code=303)
    except InvalidInputError:
        return RedirectResponse(f"{page}?notice=adjust_invalid", status_code=303)
    return RedirectResponse(f"{page}?notice=adjusted#ledger-title", status_code=303)


@router.post("/admin/members/{member_id}/unflag")
async def unflag(request: Request, console: AdminSession, member_id: MemberId) -> Response:
    """Clear the member's open abuse flags, as ``POST /api/v1/members/{id}/unflag`` (the flags
    stay recorded; a block set with a flag stays until unblocked), audited with the acting
    user and the number of flags cleared."""
    await checked_form(request, console)
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            cleared = await member_flags.clear_flags(session, member_id=member_id, now=now)
            audit_service.note(session, after={"flags_cleared": cleared}, changed=cleared > 0)
            await audited(session, console, "members.unflag", f"member:{member_id}", now=now)
    except NotFoundError as error:
        missing = {"title": error_text(error, request.state.language), "message": ""}
        return render(request, "error.html", missing, status_code=404)
    return RedirectResponse(f"/admin/members/{member_id}?notice=unflagged", status_code=303)
