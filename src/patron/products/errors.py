"""Errors and row problems of the product catalogue."""

from __future__ import annotations

from enum import StrEnum

from patron.kit.errors import InvalidInputError


class ProductProblem(StrEnum):
    """Why a product row was refused (``code`` of a :class:`~patron.purchases.bulk.report.
    RowError`, or of the API's 422)."""

    MISSING_VALUE = "missing_value"
    TOO_LONG = "too_long"
    INVALID_VALUE = "invalid_value"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_TIME = "invalid_time"
    DUPLICATE_SKU = "duplicate_sku"


class InvalidProductError(InvalidInputError):
    """A product value no JSON schema can check (an unknown currency, a price with more
    decimals than its currency has)."""

    code = "invalid_product"
