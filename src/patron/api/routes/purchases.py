"""``/purchases``: record purchases and returns, explain their points."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from patron.api.deps import Now, Pos, Reader, ReadSession, WriteSession
from patron.programs.service import get_active_program
from patron.purchases import batch, earn, returns
from patron.purchases.schemas import (
    PurchaseBatchCreate,
    PurchaseBatchResult,
    PurchaseCreate,
    PurchaseRead,
    ReturnCreate,
    ReturnRead,
)

router = APIRouter(prefix="/purchases", tags=["purchases"])

PurchaseId = Annotated[int, Path(gt=0, le=2**63 - 1)]


@router.post(
    "",
    response_model=PurchaseRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": PurchaseRead, "description": "The same purchase sent again"}},
)
async def create_purchase(
    data: PurchaseCreate, session: WriteSession, response: Response, _: Pos, now: Now
) -> PurchaseRead:
    """Record a completed purchase and credit its points (201), or answer a retry of the same
    body with the same result (200). A different body with the same ``external_id`` is 409
    ``idempotency_conflict``."""
    active = await get_active_program(session)
    recorded = await earn.record_purchase(session, active=active, data=data, now=now)
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return recorded.purchase


@router.post("/batch", response_model=PurchaseBatchResult)
async def create_purchases(
    data: PurchaseBatchCreate, session: WriteSession, _: Pos, now: Now
) -> PurchaseBatchResult:
    """Record up to 500 purchases in one unit of work; each result carries the status the
    purchase would have had alone (201 new, 200 retry, 4xx with its error). A failing purchase
    does not stop the others."""
    active = await get_active_program(session)
    return await batch.record_purchases(session, active=active, data=data, now=now)


@router.get("/{purchase_id}", response_model=PurchaseRead)
async def read_purchase(purchase_id: PurchaseId, session: ReadSession, _: Reader) -> PurchaseRead:
    """A purchase with its lines and the per-rule ``breakdown`` of its points."""
    return await earn.get_purchase(session, purchase_id=purchase_id)


@router.post(
    "/{purchase_id}/returns",
    response_model=ReturnRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": ReturnRead, "description": "The same return sent again"}},
)
async def create_return(
    purchase_id: PurchaseId,
    data: ReturnCreate,
    session: WriteSession,
    response: Response,
    _: Pos,
    now: Now,
) -> ReturnRead:
    """Refund part (by lines or amount) or all of a purchase; its points are reversed in
    proportion under the program's return policy. Idempotent by ``external_id``."""
    active = await get_active_program(session)
    record, created = await returns.record_return(
        session, active=active, purchase_id=purchase_id, data=data, now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return record
