"""Products as the API writes and reads them (``/api/v1/products``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from patron.kit.instant import YEARS_IN_SCHEMA, checked_instant
from patron.kit.pages import Page
from patron.members.models import Language

# Text without control characters and not blank (also the schema's pattern in /openapi.json).
TEXT = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
Sku = Annotated[str, Field(min_length=1, max_length=128, pattern=TEXT)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT)]
Category = Annotated[str, Field(min_length=1, max_length=128, pattern=TEXT)]


class ProductStatus(StrEnum):
    """What a product row did: ``new``, ``unchanged`` (the same row again), ``updated``, or
    ``refused`` (a bad value)."""

    NEW = "new"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    REFUSED = "refused"


NAMED: dict[str, Any] = {
    "anyOf": [
        {"required": ["name"], "properties": {"name": {"not": {"type": "null"}}}},
        {"required": ["names"], "properties": {"names": {"minProperties": 1}}},
    ]
}
"""The rule "``name`` or at least one of ``names``" as JSON schema, so that ``/openapi.json``
states what :meth:`ProductWrite._named` enforces."""


class ProductWrite(BaseModel):
    """A product, created or replaced whole by its ``sku`` (the same body again changes
    nothing). ``name`` or at least one of ``names`` is required; a ``price`` without a
    ``currency`` is in the program's currency."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=NAMED)

    sku: Sku
    name: Name | None = None
    names: dict[Language, Name] = {}
    category: Category | None = None
    price: (
        Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$", examples=["349.90"])] | None
    ) = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    launched_at: (
        Annotated[AwareDatetime, AfterValidator(checked_instant), YEARS_IN_SCHEMA] | None
    ) = None
    active: StrictBool = True

    @model_validator(mode="after")
    def _named(self) -> Self:
        if self.name is None and not self.names:
            raise ValueError("give name or names (by language: ru, pl, en)")
        return self

    def as_row(self) -> dict[str, Any]:
        """The values as a file row gives them (``name_ru`` and so on)."""
        values: dict[str, Any] = self.model_dump(exclude={"names", "launched_at"})
        values.update({f"name_{language.value}": text for language, text in self.names.items()})
        if self.launched_at is not None:
            values["launched_at"] = self.launched_at.isoformat()
        return values


class Product(BaseModel):
    """A catalogue product; ``price`` is a decimal string in ``currency``."""

    model_config = ConfigDict(frozen=True)

    id: int
    sku: str
    name: str
    names: dict[str, str]
    category: str | None
    price: str | None
    currency: str | None
    launched_at: datetime | None
    active: bool
    created_at: datetime
    updated_at: datetime


class ProductPage(Page[Product]):
    """One page of products in id order; pass ``next_after`` as ``after`` for the next page
    (``None``: this was the last page)."""

    cursor_scope = "products"
    cursor_from = "next_after"
    legacy_fields = ("next_after",)

    next_after: int | None
