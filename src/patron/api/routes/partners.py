"""``/partners``: the coalition's partners (issue 12, part 8; docs/partners.md).

A ``partner`` key acts for the one partner it was created for (``api_keys.partner_id``): it
reports that partner's purchases, spends members' points as payment there and reads that
partner's settlement; another partner's path answers 403 ``partner_forbidden`` and nothing
changes. Admin keys act for any partner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from patron.access.models import Role
from patron.access.schemas import Principal
from patron.api.deps import Now, ReadSession, WriteSession, allow
from patron.api.responses import raises
from patron.kit.errors import IdempotencyConflictError, InvalidInputError
from patron.kit.instant import Instant
from patron.ledger.errors import InsufficientPointsError
from patron.members.errors import MemberBlockedError, MemberNotFoundError, VelocityExceededError
from patron.partners import service as partner_service
from patron.partners import settlement as partner_settlement
from patron.partners.errors import PartnerForbiddenError, PartnerNotFoundError
from patron.partners.schemas import (
    PartnerPayment,
    PartnerPaymentCreate,
    PartnerPurchase,
    PartnerPurchaseCreate,
    PartnerView,
    Settlement,
)
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.purchases.errors import (
    InvalidAmountError,
    LimitExceededError,
    PointsAlreadySpentError,
    PurchaseNotFoundError,
    ReturnExceedsPurchaseError,
)
from patron.purchases.schemas import ReturnCreate, ReturnRead
from patron.wallet.errors import WalletAlreadySpentError

router = APIRouter(prefix="/partners", tags=["partners"])

PartnerKey = Annotated[Principal, Depends(allow(Role.PARTNER))]
PartnerIdPath = Annotated[str, Path(min_length=1, max_length=48)]


def own(caller: Principal, partner_id: str) -> None:
    """A partner key acts only for its own partner (admin for any)."""
    if caller.role is Role.PARTNER and caller.partner_id != partner_id:
        raise PartnerForbiddenError(
            "a partner key sees and changes only its own partner's data", field="partner_id"
        )


@router.get("", response_model=list[PartnerView])
@raises(ProgramNotFoundError)
async def list_partners(session: ReadSession, caller: PartnerKey) -> list[PartnerView]:
    """The program's partners with their rates and prices (a partner key: its own alone)."""
    active = await get_active_program(session)
    return [
        view
        for view in partner_service.list_partners(active)
        if caller.role is not Role.PARTNER or view.id == caller.partner_id
    ]


@router.post(
    "/{partner_id}/purchases",
    response_model=PartnerPurchase,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": PartnerPurchase, "description": "The same purchase again"}},
)
@raises(
    ProgramNotFoundError,
    PartnerNotFoundError,
    PartnerForbiddenError,
    MemberNotFoundError,
    MemberBlockedError,
    IdempotencyConflictError,
    InvalidInputError,
    LimitExceededError,
    VelocityExceededError,
)
async def report_purchase(
    partner_id: PartnerIdPath,
    data: PartnerPurchaseCreate,
    session: WriteSession,
    response: Response,
    caller: PartnerKey,
    now: Now,
) -> PartnerPurchase:
    """A purchase at the partner earns the member points at the partner's rate (201); the same
    ``external_id`` and body again answers 200 with the first result, another body 409
    ``idempotency_conflict``. As the shop's own purchases: above the program's ``limits``
    422 ``limit_exceeded`` (field ``amount``), past ``abuse.max_purchases_per_hour`` 429
    ``velocity_exceeded``; nothing is written."""
    own(caller, partner_id)
    active = await get_active_program(session)
    purchase, created = await partner_service.report_purchase(
        session, active=active, partner_id=partner_id, data=data, now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return purchase


@router.post(
    "/{partner_id}/payments",
    response_model=PartnerPayment,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": PartnerPayment, "description": "The same payment again"}},
)
@raises(
    ProgramNotFoundError,
    PartnerNotFoundError,
    PartnerForbiddenError,
    MemberNotFoundError,
    MemberBlockedError,
    IdempotencyConflictError,
    InsufficientPointsError,
    LimitExceededError,
    VelocityExceededError,
)
async def accept_payment(
    partner_id: PartnerIdPath,
    data: PartnerPaymentCreate,
    session: WriteSession,
    response: Response,
    caller: PartnerKey,
    now: Now,
) -> PartnerPayment:
    """The member pays with points at the partner (201); a retry answers 200, another body
    with the same ``external_id`` 409; 409 ``insufficient_points`` spends nothing, as do 422
    ``limit_exceeded`` (above ``limits.max_points_per_purchase``, field ``points``) and 429
    ``velocity_exceeded`` (past ``abuse.max_redemptions_per_hour``, which counts coupons
    redeemed and payments at partners)."""
    own(caller, partner_id)
    active = await get_active_program(session)
    payment, created = await partner_service.accept_payment(
        session, active=active, partner_id=partner_id, data=data, now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return payment


@router.post(
    "/{partner_id}/purchases/{external_id}/returns",
    response_model=ReturnRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ReturnRead, "description": "The same return sent again"}},
)
@raises(
    ProgramNotFoundError,
    PartnerNotFoundError,
    PartnerForbiddenError,
    PurchaseNotFoundError,
    IdempotencyConflictError,
    ReturnExceedsPurchaseError,
    PointsAlreadySpentError,
    WalletAlreadySpentError,
    InvalidAmountError,
    InvalidInputError,
)
async def return_purchase(
    partner_id: PartnerIdPath,
    external_id: Annotated[str, Path(min_length=1, max_length=64)],
    data: ReturnCreate,
    session: WriteSession,
    response: Response,
    caller: PartnerKey,
    now: Now,
) -> ReturnRead:
    """Return part (``amount``) or all of a purchase the partner reported (by its own id); its
    points are reversed in proportion as any return's. Idempotent by the return's
    ``external_id``."""
    own(caller, partner_id)
    active = await get_active_program(session)
    record, created = await partner_service.return_purchase(
        session, active=active, partner_id=partner_id, external_id=external_id, data=data, now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return record


@router.get("/{partner_id}/settlement", response_model=Settlement)
@raises(ProgramNotFoundError, PartnerNotFoundError, PartnerForbiddenError, InvalidInputError)
async def settlement(
    partner_id: PartnerIdPath,
    session: ReadSession,
    caller: PartnerKey,
    start: Annotated[Instant, Query(alias="from")],
    end: Annotated[Instant, Query(alias="to")],
) -> Settlement:
    """Points issued, returned and redeemed at the partner in ``[from, to)`` and the money
    owed each way (minor units; docs/partners.md, "Settlement")."""
    own(caller, partner_id)
    active = await get_active_program(session)
    found = await partner_settlement.settlements(
        session, active=active, start=start, end=end, partner_id=partner_id
    )
    return found[0]
