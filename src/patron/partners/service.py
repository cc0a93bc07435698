"""Coalition partners: a partner's purchases earn the program's points at the partner's rate,
the partner accepts points as payment, and the two settle (docs/partners.md).

A partner purchase is a purchase of channel ``partner`` (store: the partner's id; external id
``partner:<partner id>:<its own id>``), so ``POST /purchases/{id}/returns`` reverses its
points as any return does; its points are one ``earn`` entry of source ``partner_earn``. A
payment is one ``redeem`` entry of source ``partner_burn``. Each entry's ``meta`` records the
partner, its currency and the price per point in force (1/10**4 of a minor unit), so the
settlement (:mod:`patron.partners.settlement`) is computed from the ledger alone and a price
changed later does not change past periods.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.money import format_amount, parse_amount
from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.ledger.events import LedgerCredited, LedgerDebited
from patron.ledger.kinds import EntryKind, ShortfallPolicy
from patron.ledger.repository import LedgerRepository
from patron.ledger.sources import LedgerSource
from patron.members import service as member_service
from patron.members.errors import MemberNotFoundError
from patron.members.schemas import Member
from patron.partners.errors import PartnerNotFoundError
from patron.partners.schemas import (
    PartnerPayment,
    PartnerPaymentCreate,
    PartnerPurchase,
    PartnerPurchaseCreate,
    PartnerView,
)
from patron.programs.expiry import lot_timing
from patron.programs.partner_settings import Partner, price_units
from patron.programs.schemas import ActiveProgram
from patron.purchases.abuse import check_purchase_velocity
from patron.purchases.context import check_points_limit, check_total_limit
from patron.purchases.errors import LimitExceededError, PurchaseNotFoundError
from patron.purchases.models import Purchase
from patron.purchases.repository import PurchaseRepository
from patron.purchases.returns import record_return
from patron.purchases.schemas import ReturnCreate, ReturnRead
from patron.rewards.velocity import check_redemption_velocity

CHANNEL = "partner"


def require_partner(active: ActiveProgram, partner_id: str) -> Partner:
    partner = active.program.partner(partner_id)
    if partner is None:
        raise PartnerNotFoundError(f"the program has no partner {partner_id!r}", field="partner_id")
    return partner


def currency_of(active: ActiveProgram, partner: Partner) -> str:
    return partner.currency or active.program.currency


def list_partners(active: ActiveProgram) -> list[PartnerView]:
    return [
        PartnerView(
            id=p.id,
            name=p.name,
            currency=currency_of(active, p),
            earn_points=p.earn.points,
            earn_per_amount=str(p.earn.per_amount),
            earn_price_per_point=str(p.earn.price_per_point),
            burn_price_per_point=str(p.burn.price_per_point),
        )
        for p in active.program.partners
    ]


def earned_points(partner: Partner, amount: int, currency: str) -> int:
    """``points`` for each whole ``per_amount`` of ``amount`` (minor units), rounded down."""
    per = parse_amount(str(partner.earn.per_amount), currency)
    return amount // per * partner.earn.points


def purchase_external_id(partner_id: str, external_id: str) -> str:
    return f"partner:{partner_id}:{external_id}"


async def _member(session: AsyncSession, active: ActiveProgram, card: str) -> Member:
    """The member of the card number, active, with the points account locked."""
    try:
        member = await member_service.get_member_by_external_id(
            session, program_id=active.program_id, external_id=card
        )
    except MemberNotFoundError as error:
        raise MemberNotFoundError(error.message, field="member_external_id") from error
    member_service.ensure_active(member)
    await ledger_service.lock_account_for_update(session, member.id)
    return member


def _meta(partner: Partner, currency: str, price: Any) -> dict[str, Any]:
    return {"partner_id": partner.id, "currency": currency, "price": price_units(price, currency)}


async def report_purchase(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    partner_id: str,
    data: PartnerPurchaseCreate,
    now: datetime,
) -> tuple[PartnerPurchase, bool]:
    """Record a purchase at the partner and credit its points; ``(purchase, created)``. A retry
    with the same ``external_id`` and body answers the first; another body 409."""
    partner = require_partner(active, partner_id)
    currency = currency_of(active, partner)
    if data.currency is not None and data.currency != currency:
        raise InvalidInputError(f"partner {partner.id} is paid in {currency}", field="currency")
    amount = parse_amount(data.amount, currency, field="amount")
    if amount <= 0:
        raise InvalidInputError("the amount must be above 0", field="amount")
    check_total_limit(active.program, currency, amount, field="amount")
    points = earned_points(partner, amount, currency)
    check_points_limit(active.program, points, field="amount")
    occurred_at = data.occurred_at or now
    if occurred_at > now:
        raise InvalidInputError("the purchase is in the future", field="occurred_at")
    member = await _member(session, active, data.member_external_id)
    repository = PurchaseRepository(session)
    external = purchase_external_id(partner.id, data.external_id)
    existing = await repository.by_external_id(active.program_id, external)
    if existing is not None:
        if existing.request_hash != data.fingerprint() or existing.member_id != member.id:
            raise IdempotencyConflictError(
                f"purchase {data.external_id!r} was already reported with a different body",
                field="external_id",
            )
        return _purchase_read(existing, partner.id, data.external_id), False
    await check_purchase_velocity(
        session, active=active, member_id=member.id, external_id=external, now=now
    )
    pending_until, expires_at = lot_timing(active.program, occurred_at)
    purchase = Purchase(
        program_id=active.program_id,
        external_id=external,
        member_id=member.id,
        occurred_at=occurred_at,
        currency=currency,
        total=amount,
        shipping=0,
        channel=CHANNEL,
        store=partner.id,
        program_version=active.version,
        points_earned=points,
        points_reversed=0,
        refunded=0,
        breakdown=[],
        request_hash=data.fingerprint(),
        created_at=now,
        pending_until=pending_until if points else None,
        expires_at=expires_at if points else None,
    )
    session.add(purchase)
    await session.flush()
    if points:
        entry = await ledger_service.credit(
            session,
            member_id=member.id,
            amount=points,
            kind=EntryKind.EARN,
            idempotency_key=LedgerSource.PARTNER_EARN.key(partner.id, data.external_id),
            source_type=LedgerSource.PARTNER_EARN.value,
            source_id=f"{partner.id}:{purchase.id}",
            now=now,
            occurred_at=occurred_at,
            pending_until=pending_until,
            expires_at=expires_at,
            description=f"purchase at {partner.name}"[:255],
            meta=_meta(partner, currency, partner.earn.price_per_point),
        )
        purchase.earn_entry_id = entry.id
        await emit(
            session,
            LedgerCredited(
                member_id=member.id,
                entry_id=entry.id,
                kind=entry.kind.value,
                points=points,
                source=entry.source_type,
            ),
            program_id=active.program_id,
            occurred_at=now,
        )
    await session.flush()
    return _purchase_read(purchase, partner.id, data.external_id), True


def _purchase_read(purchase: Purchase, partner_id: str, external_id: str) -> PartnerPurchase:
    assert purchase.member_id is not None
    return PartnerPurchase(
        purchase_id=purchase.id,
        partner_id=partner_id,
        external_id=external_id,
        member_id=purchase.member_id,
        amount=format_amount(purchase.total, purchase.currency),
        currency=purchase.currency,
        points=purchase.points_earned,
        occurred_at=purchase.occurred_at,
        pending_until=purchase.pending_until,
    )


async def accept_payment(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    partner_id: str,
    data: PartnerPaymentCreate,
    now: datetime,
) -> tuple[PartnerPayment, bool]:
    """Spend the member's points as payment at the partner; ``(payment, created)``. A retry
    with the same ``external_id``, member and points answers the first; another body 409;
    409 ``insufficient_points`` (nothing spent) when the member has fewer available."""
    partner = require_partner(active, partner_id)
    currency = currency_of(active, partner)
    _check_payment_limit(active, data.points)
    member = await _member(session, active, data.member_external_id)
    key = LedgerSource.PARTNER_BURN.key(partner.id, data.external_id)
    found = await LedgerRepository(session).find_entry(key)
    if found is not None:
        if found.member_id != member.id or -found.requested_amount != data.points:
            raise IdempotencyConflictError(
                f"payment {data.external_id!r} was already accepted with a different body",
                field="external_id",
            )
        return _payment_read(found.id, found.created_at, partner.id, data, member.id), False
    await check_redemption_velocity(session, active=active, member_id=member.id, now=now)
    entry = await ledger_service.debit(
        session,
        member_id=member.id,
        amount=data.points,
        kind=EntryKind.REDEEM,
        idempotency_key=key,
        source_type=LedgerSource.PARTNER_BURN.value,
        source_id=f"{partner.id}:{data.external_id}",
        now=now,
        on_shortfall=ShortfallPolicy.REFUSE,
        description=f"paid at {partner.name}"[:255],
        meta=_meta(partner, currency, partner.burn.price_per_point),
    )
    await emit(
        session,
        LedgerDebited(
            member_id=member.id,
            entry_id=entry.id,
            kind=entry.kind.value,
            points=data.points,
            source=entry.source_type,
        ),
        program_id=active.program_id,
        occurred_at=now,
    )
    return _payment_read(entry.id, entry.created_at, partner.id, data, member.id), True


def _check_payment_limit(active: ActiveProgram, points: int) -> None:
    """Refuse a payment of more points than ``limits.max_points_per_purchase``: the most one
    receipt may move, earned or spent (422 ``limit_exceeded``, field ``points``)."""
    most = active.program.limits.max_points_per_purchase
    if points > most:
        raise LimitExceededError(
            f"the payment spends {points} points, above the program's "
            f"limits.max_points_per_purchase of {most}",
            field="points",
            params={"points": points, "limit": most},
        )


def _payment_read(
    entry_id: int, created_at: datetime, partner_id: str, data: PartnerPaymentCreate, member: int
) -> PartnerPayment:
    return PartnerPayment(
        entry_id=entry_id,
        partner_id=partner_id,
        external_id=data.external_id,
        member_id=member,
        points=data.points,
        created_at=created_at,
    )


async def return_purchase(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    partner_id: str,
    external_id: str,
    data: ReturnCreate,
    now: datetime,
) -> tuple[ReturnRead, bool]:
    """A return of the partner's purchase ``external_id`` (its own id), as any purchase return
    (:func:`patron.purchases.returns.record_return`): idempotent by the return's
    ``external_id``, its points reversed in proportion; ``(return, created)``."""
    partner = require_partner(active, partner_id)
    purchase = await PurchaseRepository(session).by_external_id(
        active.program_id, purchase_external_id(partner.id, external_id)
    )
    if purchase is None:
        raise PurchaseNotFoundError(
            f"partner {partner.id} reported no purchase {external_id!r}", field="external_id"
        )
    return await record_return(session, active=active, purchase_id=purchase.id, data=data, now=now)
