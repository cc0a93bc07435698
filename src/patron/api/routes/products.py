"""``/products``: the product catalogue (names per language, categories, prices by SKU)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from patron.api.deps import Admin, Now, Reader, ReadSession, WriteSession
from patron.api.paging import PageCursor
from patron.api.params import QueryBool
from patron.api.responses import raises
from patron.kit.strict import DIGITS
from patron.products import service as product_service
from patron.products.errors import InvalidProductError
from patron.products.schemas import Product, ProductPage, ProductStatus, ProductWrite
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.purchases.errors import InvalidAmountError

router = APIRouter(prefix="/products", tags=["products"])


@router.get("", response_model=ProductPage)
@raises(ProgramNotFoundError)
async def list_products(
    session: ReadSession,
    _: Reader,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1), DIGITS] = None,
    cursor: PageCursor = None,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 50,
    category: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    active: QueryBool | None = None,
) -> ProductPage:
    """The catalogue in id order, optionally of one ``category`` or only ``active`` (or
    inactive) products; pass ``next_after`` back as ``after`` for the next page."""
    program = await get_active_program(session)
    return await product_service.list_products(
        session,
        program_id=program.program_id,
        after=ProductPage.resume(cursor, after),
        limit=limit,
        category=category,
        active=active,
    )


@router.post(
    "",
    response_model=Product,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": Product, "description": "The product was updated or unchanged"}},
)
@raises(ProgramNotFoundError, InvalidProductError, InvalidAmountError)
async def upsert_product(
    data: ProductWrite, session: WriteSession, response: Response, _: Admin, now: Now
) -> Product:
    """Create a product (201) or replace the product with this ``sku`` (200; the same body
    again changes nothing). The catalogue is not a gate: purchases may name any SKU."""
    program = await get_active_program(session)
    product, outcome = await product_service.upsert_product(
        session, active=program, data=data, now=now
    )
    if outcome is not ProductStatus.NEW:
        response.status_code = status.HTTP_200_OK
    return product
