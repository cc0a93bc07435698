"""The product catalogue's use cases: write products by SKU (in bulk or one), list them, and
check a program's SKUs and categories against the catalogue. Services never commit.

A product is idempotent by ``(program, sku)``: a row whose checksum equals the stored one is
``unchanged`` and writes nothing; a different row replaces the product whole (``updated``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit import money
from patron.products.errors import InvalidProductError, ProductProblem
from patron.products.models import Product as ProductModel
from patron.products.repository import ProductRepository
from patron.products.rows import ProductRow, parse_product
from patron.products.schemas import Product, ProductPage, ProductStatus, ProductWrite
from patron.programs.errors import ProgramNotFoundError
from patron.programs.schema import Program
from patron.programs.schemas import ActiveProgram
from patron.programs.service import get_active_program
from patron.purchases.errors import InvalidAmountError

MAX_PAGE_SIZE = 500


async def classify(
    session: AsyncSession, *, program_id: int, rows: Sequence[ProductRow]
) -> tuple[list[ProductStatus], dict[str, tuple[int, str]]]:
    """What each row would do (new, unchanged or updated), and the products that exist."""
    existing = await ProductRepository(session).by_sku(program_id, [row.sku for row in rows])
    statuses = []
    for row in rows:
        found = existing.get(row.sku)
        if found is None:
            statuses.append(ProductStatus.NEW)
        elif found[1] == row.checksum:
            statuses.append(ProductStatus.UNCHANGED)
        else:
            statuses.append(ProductStatus.UPDATED)
    return statuses, existing


def _values(row: ProductRow, now: datetime) -> dict[str, Any]:
    return {
        "sku": row.sku,
        "name": row.name,
        "names": row.names,
        "category": row.category,
        "price": row.price,
        "currency": row.currency,
        "launched_at": row.launched_at,
        "active": row.active,
        "checksum": row.checksum,
        "updated_at": now,
    }


async def apply_products(
    session: AsyncSession, *, program_id: int, rows: Sequence[ProductRow], now: datetime
) -> list[ProductStatus]:
    """Write the rows (distinct SKUs); their statuses in order."""
    statuses, existing = await classify(session, program_id=program_id, rows=rows)
    new = [
        _values(row, now) | {"program_id": program_id, "created_at": now}
        for row, status in zip(rows, statuses, strict=True)
        if status is ProductStatus.NEW
    ]
    changed = [
        _values(row, now) | {"id": existing[row.sku][0]}
        for row, status in zip(rows, statuses, strict=True)
        if status is ProductStatus.UPDATED
    ]
    repository = ProductRepository(session)
    await repository.insert(new)
    await repository.update(changed)
    return statuses


async def upsert_product(
    session: AsyncSession, *, active: ActiveProgram, data: ProductWrite, now: datetime
) -> tuple[Product, ProductStatus]:
    """Create or replace one product by its SKU (``POST /products``)."""
    parsed = parse_product(data.as_row(), active.program)
    if not isinstance(parsed, ProductRow):
        problem = parsed[0]
        field = "names" if problem.column.startswith("name_") else problem.column
        if problem.code is ProductProblem.INVALID_AMOUNT:
            raise InvalidAmountError(problem.message, field=field)
        raise InvalidProductError(problem.message, field=field)
    (status,) = await apply_products(session, program_id=active.program_id, rows=[parsed], now=now)
    stored = await ProductRepository(session).get(active.program_id, parsed.sku)
    assert stored is not None
    return product_of(stored), status


def product_of(model: ProductModel) -> Product:
    price = None
    if model.price is not None and model.currency is not None:
        price = money.format_amount(model.price, model.currency)
    return Product(
        id=model.id,
        sku=model.sku,
        name=model.name,
        names=dict(model.names),
        category=model.category,
        price=price,
        currency=model.currency,
        launched_at=model.launched_at,
        active=model.active,
        created_at=model.created_at,
        updated_at=model.updated_at,
    )


async def list_products(
    session: AsyncSession,
    *,
    program_id: int,
    after: int | None = None,
    limit: int = 50,
    category: str | None = None,
    active: bool | None = None,
) -> ProductPage:
    """Products in id order, ``limit`` at a time after the id ``after``."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    found = await ProductRepository(session).page(
        program_id, after=after, limit=limit + 1, category=category, active=active
    )
    items = [product_of(model) for model in found[:limit]]
    return ProductPage(items=items, next_after=items[-1].id if len(found) > limit else None)


@dataclass(frozen=True, slots=True)
class CatalogueWarning:
    """A SKU or category a program names that the catalogue does not have."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def _named(program: Program) -> list[tuple[str, str, str]]:
    """(path, "sku" or "category", value) of every SKU and category the program names."""
    found: list[tuple[str, str, str]] = []
    for index, rule in enumerate(program.earning.rules):
        when = rule.when
        base = f"earning.rules[{index}].when"
        for position, category in enumerate(when.line_category_in or []):
            found.append((f"{base}.line_category_in[{position}]", "category", category))
        for position, sku in enumerate(when.line_sku_in or []):
            found.append((f"{base}.line_sku_in[{position}]", "sku", sku))
    for index, reward in enumerate(program.rewards):
        if reward.sku is not None:
            found.append((f"rewards[{index}].sku", "sku", reward.sku))
    return found


async def catalogue_warnings(
    session: AsyncSession, *, program_key: str, program: Program
) -> list[CatalogueWarning]:
    """The SKUs and categories ``program`` names that the catalogue of the program stored as
    ``program_key`` does not know; none when there is no such program or no catalogue."""
    try:
        active = await get_active_program(session, key=program_key)
    except ProgramNotFoundError:
        return []
    repository = ProductRepository(session)
    if await repository.count(active.program_id) == 0:
        return []
    skus, categories = await repository.known(active.program_id)
    known = {"sku": skus, "category": categories}
    return [
        CatalogueWarning(path, f"{kind} {value!r} is not in the product catalogue")
        for path, kind, value in _named(program)
        if value not in known[kind]
    ]
