"""The member portal (``/portal``), phone first: balance, tier progress, rewards and redeem,
coupons with QR codes, the member's card (a QR code a till scans to identify the member),
purchase history with "why N points", and the member's profile
(language and marketing consents). A member logs in with a one-time link from the till
(``patron portal link``) or one emailed on request (``/portal/login``); every page shows only
the logged-in member's own data (no member id in any address)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from patron.kit.errors import IdempotencyConflictError, NotFoundError
from patron.kit.ids import random_token
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.ledger.errors import InsufficientPointsError
from patron.members import card
from patron.members import portal as portal_service
from patron.members import service as member_service
from patron.members.errors import MemberBlockedError, MemberErasedError, VelocityExceededError
from patron.members.models import ConsentChannel, Language
from patron.members.schemas import MemberUpdate
from patron.notifications import tokens
from patron.programs import service as program_service
from patron.programs.schema import QualifyOn
from patron.programs.schemas import ActiveProgram
from patron.purchases.history import member_purchases
from patron.rewards import service as reward_service
from patron.rewards.errors import (
    OutOfStockError,
    RewardNotEligibleError,
    RewardNotFoundError,
    TierRequiredError,
)
from patron.rewards.models import CouponStatus
from patron.tiers import service as tier_service
from patron.tiers.policy import next_threshold
from patron.web.auth import (
    CsrfRejected,
    check_csrf,
    database_of,
    forget_cookie,
    remember,
    set_cookie,
)
from patron.web.i18n import LANGUAGE_COOKIE, LANGUAGES, Formats
from patron.web.limits import LoginLimiter
from patron.web.member_auth import (
    MEMBER_COOKIE,
    PORTAL_LOGIN_CSRF_COOKIE,
    AnyoneLanguage,
    MemberVisit,
    PortalVisit,
    checked_member_form,
    embed_secret,
    set_member_cookie,
)
from patron.web.messages import labels
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
LoginToken = Annotated[str, Path(min_length=1, max_length=200)]
RewardCode = Annotated[str, Path(min_length=1, max_length=64)]
_LOGIN_FORM_SECONDS = 3600
_YEAR = 365 * 24 * 3600
# why a redeem was refused: the notice the rewards page shows
REFUSALS = ("insufficient_points", "tier_required", "out_of_stock", "reward_not_found",
            "member_blocked", "repeated", "reward_not_eligible",
            "velocity_exceeded")  # fmt: skip
MARKETING = (ConsentChannel.EMAIL, ConsentChannel.SMS)


def _formats(request: Request, active: ActiveProgram) -> Formats:
    """Formats in the page's language, times in the program's time zone."""
    return Formats(request.state.language, active.program.program.timezone)


def _login_limiter(request: Request) -> LoginLimiter:
    """Requests for login links: 3 per email and 10 per client address in 15 minutes (each
    request counts: an email is sent for it)."""
    limiter: LoginLimiter | None = getattr(request.app.state, "portal_login_limiter", None)
    if limiter is None:
        limiter = LoginLimiter(per_email=3, per_address=10)
        request.app.state.portal_login_limiter = limiter
    return limiter


def _request_page(
    request: Request,
    *,
    email: str = "",
    sent: bool = False,
    error: str = "",
    status_code: int = 200,
) -> Response:
    form_token = random_token(32)
    response = render(
        request,
        "portal/login_request.html",
        {"login_token": form_token, "email": email, "sent": sent, "error": error},
        status_code=status_code,
    )
    set_cookie(request, response, PORTAL_LOGIN_CSRF_COOKIE, form_token, _LOGIN_FORM_SECONDS)
    return remember(request, response)


@router.get("/portal/login")
async def login_request_form(request: Request, _: AnyoneLanguage) -> Response:
    """Where a member asks for a login link by email (the till's link is the other way)."""
    return _request_page(request)


@router.post("/portal/login")
async def request_login_link(
    request: Request,
    language: AnyoneLanguage,
    email: Annotated[str, Form(max_length=254)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Email a login link to the members with this email; the answer is the same whether or
    not the email belongs to anybody (it tells nothing about who is a member)."""
    _ = gettext_for(language)
    try:
        check_csrf(request.cookies.get(PORTAL_LOGIN_CSRF_COOKIE, ""), csrf_token)
    except CsrfRejected:
        message = _("The form has expired. Please try again.")
        return _request_page(request, email=email, error=message, status_code=403)
    limiter = _login_limiter(request)
    client = request.client.host if request.client else "unknown"
    keys = LoginLimiter.keys(client, email)
    wait = limiter.wait_seconds(keys)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        message = _("Too many requests. Try again in %(minutes)s min.") % {"minutes": minutes}
        response = _request_page(request, email=email, error=message, status_code=429)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    limiter.failed(keys)
    now = utcnow()
    async with database_of(request).write() as session:
        program_ids = [
            (await program_service.get_active_program(session, key=key)).program_id
            for key in await program_service.program_keys(session)
        ]
        await portal_service.request_login(session, email=email, program_ids=program_ids, now=now)
    return _request_page(request, sent=True)


@router.get("/portal/login/{token}")
async def login_link(request: Request, _: AnyoneLanguage, token: LoginToken) -> Response:
    """The link's page: one button that uses the link. Opening the page spends nothing, so a
    messenger's link preview cannot use up the link."""
    form_token = random_token(32)
    response = render(
        request, "portal/login.html", {"login_token": form_token, "link": request.url.path}
    )
    set_cookie(request, response, PORTAL_LOGIN_CSRF_COOKIE, form_token, _LOGIN_FORM_SECONDS)
    return remember(request, response)


@router.post("/portal/login/{token}")
async def use_login_link(request: Request, _: AnyoneLanguage, token: LoginToken) -> Response:
    form = await request.form()
    try:
        check_csrf(request.cookies.get(PORTAL_LOGIN_CSRF_COOKIE, ""), form.get("csrf_token"))
    except CsrfRejected:
        return render(request, "portal/link_refused.html", {"expired_form": True}, status_code=403)
    database, now = database_of(request), utcnow()
    async with database.read() as session:  # a read first: a bad token never takes the lock
        usable = await portal_service.link_usable(session, token=token, now=now)
    login = None
    if usable:
        async with database.write() as session:
            login = await portal_service.use_link(session, token=token, now=now)
    if login is None or login.token is None:
        # unknown, used or expired: one answer for all
        return render(request, "portal/link_refused.html", {"expired_form": False}, status_code=401)
    response = RedirectResponse("/portal", status_code=303)
    set_member_cookie(request, response, login.token)
    forget_cookie(request, response, PORTAL_LOGIN_CSRF_COOKIE)
    return remember(request, response)


@router.get("/portal/embed")
async def embed(
    request: Request, _: AnyoneLanguage, token: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """The portal inside the shop's own page: a signed, expiring member token (see
    ``patron.members.portal``) starts a member session, then the balance page."""
    secret = embed_secret()
    if secret is None:  # embedding is off
        return render(request, "portal/link_refused.html", {"embed": True}, status_code=404)
    now = utcnow()
    member_id = portal_service.verify_embed_token(secret, token, now=now)
    login = None
    if member_id is not None:
        async with database_of(request).write() as session:
            try:
                login = await portal_service.start_session(session, member_id=member_id, now=now)
            except NotFoundError:
                login = None
    if login is None or login.token is None:
        return render(request, "portal/link_refused.html", {"embed": True}, status_code=401)
    response = RedirectResponse("/portal", status_code=303)
    set_member_cookie(request, response, login.token, embedded=True)
    return remember(request, response)


@router.post("/portal/logout")
async def log_out(request: Request, visit: MemberVisit) -> Response:
    await checked_member_form(request, visit)
    async with database_of(request).write() as session:
        await portal_service.log_out(session, token=request.cookies.get(MEMBER_COOKIE, ""))
    response = render(request, "portal/signed_out.html", {"logged_out": True})
    forget_cookie(request, response, MEMBER_COOKIE)
    return response


async def _tier_progress(session: Any, active: ActiveProgram, visit: PortalVisit) -> dict[str, Any]:
    """The member's tier and perks, the next tier, how far it is (points or money)."""
    program = active.program
    if program.tiers is None:
        return {}
    levels = program.tiers.levels
    current = program.tiers.level(visit.member.tier_id) if visit.member.tier_id else None
    now = utcnow()
    metric = (
        await tier_service.metrics(session, program=program, member_ids=[visit.member.id], now=now)
    )[visit.member.id]
    threshold = next_threshold(program, visit.member.tier_id)
    following = None
    if threshold is not None:
        position = levels.index(current) + 1 if current is not None else 0
        following = levels[position]
    return {
        "current": current,
        "next": following,
        "metric": metric,
        "threshold": threshold,
        "missing": max(threshold - metric, 0) if threshold is not None else 0,
        "money": program.tiers.qualify_on is QualifyOn.MONEY_SPENT,
    }


@router.get("/portal")
async def home(request: Request, visit: MemberVisit) -> Response:
    now = utcnow()
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        balance = await ledger_service.balance(session, member_id=visit.member.id, now=now)
        expiry = await ledger_service.next_expiry(session, member_id=visit.member.id, now=now)
        tier = await _tier_progress(session, active, visit)
    context = {
        "balance": balance,
        "expiry": expiry,
        "tier": tier,
        "currency": active.program.currency,
        "fmt": _formats(request, active),
    }
    return remember(request, render(request, "portal/home.html", context))


@router.get("/portal/rewards")
async def rewards(request: Request, visit: MemberVisit, notice: str = "") -> Response:
    now = utcnow()
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        catalogue = await reward_service.list_rewards(
            session, active=active, member=visit.member, now=now
        )
        balance = await ledger_service.balance(session, member_id=visit.member.id, now=now)
    tiers = (
        {level.id: level.name for level in active.program.tiers.levels}
        if active.program.tiers
        else {}
    )
    context = {
        "rewards": catalogue,
        "available": balance.available,
        "tiers": tiers,
        "notice": notice if notice in REFUSALS else "",
        "redeem_key": random_token(16),  # one per page: a second submit changes nothing
        "fmt": _formats(request, active),
    }
    return remember(request, render(request, "portal/rewards.html", context))


@router.post("/portal/rewards/{code}/redeem")
async def redeem(request: Request, visit: MemberVisit, code: RewardCode) -> Response:
    form = await checked_member_form(request, visit)
    key = form.get("key", "")[:64] or random_token(16)
    member_id = visit.member.id
    try:
        async with database_of(request).write() as session:
            active = await program_service.get_active_program(session)
            redeemed = await reward_service.redeem(
                session,
                active=active,
                member_id=member_id,
                reward_code=code,
                idempotency_key=f"portal:{member_id}:{key}",
                now=utcnow(),
            )
    except InsufficientPointsError:
        return RedirectResponse("/portal/rewards?notice=insufficient_points", status_code=303)
    except TierRequiredError:
        return RedirectResponse("/portal/rewards?notice=tier_required", status_code=303)
    except RewardNotEligibleError:
        return RedirectResponse("/portal/rewards?notice=reward_not_eligible", status_code=303)
    except OutOfStockError:
        return RedirectResponse("/portal/rewards?notice=out_of_stock", status_code=303)
    except RewardNotFoundError:
        return RedirectResponse("/portal/rewards?notice=reward_not_found", status_code=303)
    except MemberBlockedError:
        return RedirectResponse("/portal/rewards?notice=member_blocked", status_code=303)
    except VelocityExceededError:
        return RedirectResponse("/portal/rewards?notice=velocity_exceeded", status_code=303)
    except IdempotencyConflictError:
        return RedirectResponse("/portal/rewards?notice=repeated", status_code=303)
    target = f"/portal/coupons?new={redeemed.coupon.code}#coupon-{redeemed.coupon.code}"
    return RedirectResponse(target, status_code=303)


def qr_svg(text: str) -> str:
    """The QR code of ``text`` as an inline SVG element (segno, drawn on the server)."""
    return str(segno.make_qr(text, error="m").svg_inline(scale=4, border=2, omitsize=True))


@router.get("/portal/coupons")
async def coupons(request: Request, visit: MemberVisit, new: str = "") -> Response:
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        held = await reward_service.list_coupons(session, member_id=visit.member.id, limit=100)
    names = {reward.code: reward.name for reward in active.program.rewards}
    now = utcnow()
    usable = [
        coupon
        for coupon in held
        if coupon.status is CouponStatus.ACTIVE
        and (coupon.valid_until is None or coupon.valid_until > now)
    ]
    context = {
        "usable": [(coupon, qr_svg(coupon.code)) for coupon in usable],
        "past": [coupon for coupon in held if coupon not in usable][:20],
        "names": names,
        "new": new,
        "now": now,
        "fmt": _formats(request, active),
    }
    return remember(request, render(request, "portal/coupons.html", context))


@router.get("/portal/card")
async def member_card(request: Request, visit: MemberVisit) -> Response:
    """The member's card: the card number and a QR code of a card token, good for
    :data:`~patron.members.card.CARD_MINUTES` minutes, that a till scans to identify the
    member (``patron.members.card``); a new token each time the page is shown."""
    now = utcnow()
    database = database_of(request)
    async with database.read() as session:
        active = await program_service.get_active_program(session)
        key = await tokens.existing_key(session)
    if key is None:  # the database's signing key, made once
        async with database.write() as session:
            key = await tokens.signing_key(session, now)
    expires_at = card.expiry_of_new_token(now)
    token = card.sign_card_token(key, member_id=visit.member.id, expires_at=expires_at)
    context = {
        "token": token,
        "qr": qr_svg(token),
        "number": visit.member.external_id,
        "expires_at": expires_at,
        "minutes": card.CARD_MINUTES,
        "fmt": _formats(request, active),
    }
    response = remember(request, render(request, "portal/card.html", context))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/portal/history")
async def history(request: Request, visit: MemberVisit) -> Response:
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        purchases = await member_purchases(session, member_id=visit.member.id, limit=50)
    context = {"purchases": purchases, "fmt": _formats(request, active)}
    return remember(request, render(request, "portal/history.html", context))


def _consents(visit: PortalVisit) -> dict[str, bool]:
    granted = {consent.channel: consent.is_granted for consent in visit.member.consents}
    return {channel.value: granted.get(channel, False) for channel in MARKETING}


@router.get("/portal/profile")
async def profile(request: Request, visit: MemberVisit, notice: str = "") -> Response:
    context = {
        "consents": _consents(visit),
        "member_language": visit.member.language.value if visit.member.language else "",
        "choices": LANGUAGES,
        "labels": labels(request.state.language),
        "notice": notice if notice in ("saved", "erased") else "",
    }
    return remember(request, render(request, "portal/profile.html", context))


@router.post("/portal/profile")
async def save_profile(request: Request, visit: MemberVisit) -> Response:
    """The member's language and marketing consents (each change in the consent history,
    source ``portal``)."""
    form = await checked_member_form(request, visit)
    chosen = form.get("language", "")
    now = utcnow()
    try:
        async with database_of(request).write() as session:
            if chosen in LANGUAGES:
                await member_service.update_member(
                    session,
                    member_id=visit.member.id,
                    data=MemberUpdate(language=Language(chosen)),
                    now=now,
                )
            for channel in MARKETING:
                await member_service.set_consent(
                    session,
                    member_id=visit.member.id,
                    channel=channel,
                    is_granted=form.get(f"consent_{channel.value}") == "on",
                    source="portal",
                    now=now,
                )
    except (MemberErasedError, NotFoundError):
        return RedirectResponse("/portal/profile?notice=erased", status_code=303)
    response = RedirectResponse("/portal/profile?notice=saved", status_code=303)
    if chosen in LANGUAGES:
        # the page follows the new choice at once (the switch's cookie would override it)
        set_cookie(request, response, LANGUAGE_COOKIE, chosen, _YEAR)
    return response
