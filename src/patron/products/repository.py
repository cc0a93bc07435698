"""Queries of the product catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from patron.products.models import Product

LOOKUP_CHUNK = 500


class ProductRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_sku(self, program_id: int, skus: Sequence[str]) -> dict[str, tuple[int, str]]:
        """``sku -> (id, checksum)`` of the products that exist."""
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(skus), LOOKUP_CHUNK):
            chunk = list(skus[start : start + LOOKUP_CHUNK])
            rows = await self.session.execute(
                select(Product.sku, Product.id, Product.checksum).where(
                    Product.program_id == program_id, Product.sku.in_(chunk)
                )
            )
            found.update({sku: (int(id_), checksum) for sku, id_, checksum in rows})
        return found

    async def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(Product), list(rows))

    async def update(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the products (each row has its ``id``)."""
        if rows:
            await self.session.execute(update(Product), list(rows))

    async def get(self, program_id: int, sku: str) -> Product | None:
        result = await self.session.execute(
            select(Product).where(Product.program_id == program_id, Product.sku == sku)
        )
        return result.scalar_one_or_none()

    async def page(
        self,
        program_id: int,
        *,
        after: int | None,
        limit: int,
        category: str | None,
        active: bool | None,
    ) -> list[Product]:
        query = select(Product).where(Product.program_id == program_id)
        if after is not None:
            query = query.where(Product.id > after)
        if category is not None:
            query = query.where(Product.category == category)
        if active is not None:
            query = query.where(Product.active == active)
        result = await self.session.execute(query.order_by(Product.id).limit(limit))
        return list(result.scalars())

    async def count(self, program_id: int) -> int:
        query = select(func.count()).select_from(Product).where(Product.program_id == program_id)
        return int((await self.session.execute(query)).scalar_one())

    async def known(self, program_id: int) -> tuple[set[str], set[str]]:
        """The catalogue's SKUs and categories."""
        rows = await self.session.execute(
            select(Product.sku, Product.category).where(Product.program_id == program_id)
        )
        skus: set[str] = set()
        categories: set[str] = set()
        for sku, category in rows:
            skus.add(sku)
            if category is not None:
                categories.add(category)
        return skus, categories
