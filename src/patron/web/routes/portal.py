"""The member portal (``/portal``), phone first: balance (and the cashback wallet's, once the
member had cashback: :mod:`~patron.web.routes.portal_wallet`), tier progress, rewards and redeem,
coupons with QR codes, the member's card (a QR code a till scans to identify the member) and
purchase history with "why N points". Its neighbours: logging in and out
(:mod:`~patron.web.routes.portal_login`), the profile
(:mod:`~patron.web.routes.portal_profile`), open surveys
(:mod:`~patron.web.routes.portal_surveys`) and refer-a-friend
(:mod:`~patron.web.routes.portal_referral`). Every page shows only the logged-in member's
own data (no member id in any address)."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from patron.challenges import service as challenge_service
from patron.kit.errors import IdempotencyConflictError
from patron.kit.ids import random_token
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.ledger.errors import InsufficientPointsError
from patron.members import card
from patron.members.errors import MemberBlockedError, VelocityExceededError
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
from patron.wallet import service as wallet_service
from patron.web.auth import database_of, remember
from patron.web.i18n import Formats
from patron.web.member_auth import MemberVisit, PortalVisit, checked_member_form
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
RewardCode = Annotated[str, Path(min_length=1, max_length=64)]
# why a redeem was refused: the notice the rewards page shows
REFUSALS = ("insufficient_points", "tier_required", "out_of_stock", "reward_not_found",
            "member_blocked", "repeated", "reward_not_eligible",
            "velocity_exceeded")  # fmt: skip


def reward_names(active: ActiveProgram, language: str) -> dict[str, str]:
    """Each reward's name in ``language`` (the file's ``names``, else its ``name``)."""
    return {reward.code: reward.name_in(language) for reward in active.program.rewards}


def formats(request: Request, active: ActiveProgram) -> Formats:
    """Formats in the page's language, times in the program's time zone."""
    return Formats(request.state.language, active.program.program.timezone)


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
        language = request.state.language
        challenges = await challenge_service.member_challenges(
            session, active=active, member_id=visit.member.id, now=now, language=language
        )
        badges = await challenge_service.member_badges(
            session, active=active, member_id=visit.member.id, language=language
        )
        wallet = await wallet_service.wallet_page(
            session, member_id=visit.member.id, currency=active.program.currency, limit=1
        )
    context = {
        "challenges": challenges,
        "badges": badges,
        "balance": balance,
        "wallet": wallet if wallet.items else None,  # shown once the member had cashback
        "expiry": expiry,
        "tier": tier,
        "currency": active.program.currency,
        "fmt": formats(request, active),
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
        "names": reward_names(active, request.state.language),
        "available": balance.available,
        "tiers": tiers,
        "notice": notice if notice in REFUSALS else "",
        "redeem_key": random_token(16),  # one per page: a second submit changes nothing
        "fmt": formats(request, active),
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
    names = reward_names(active, request.state.language)
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
        "fmt": formats(request, active),
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
        "fmt": formats(request, active),
    }
    response = remember(request, render(request, "portal/card.html", context))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/portal/history")
async def history(request: Request, visit: MemberVisit) -> Response:
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        purchases = await member_purchases(session, member_id=visit.member.id, limit=50)
    context = {"purchases": purchases, "fmt": formats(request, active)}
    return remember(request, render(request, "portal/history.html", context))
