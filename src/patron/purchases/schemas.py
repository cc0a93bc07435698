"""Purchase and return payloads. Amounts travel as decimal strings in the purchase currency
("1700.00") and are turned into integer minor units by the service, which knows the currency."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Self

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from patron.kit.errors import Param
from patron.kit.instant import Instant
from patron.kit.strict import WHOLE
from patron.kit.text import NO_NUL

AmountText = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$", examples=["1700.00"], description="Decimal string"
    ),
]
# no NUL: PostgreSQL text cannot hold one
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


def _text_moment(value: Any) -> Any:
    """A moment as the schema writes it (RFC 3339 text), not a number read as a Unix time."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be a moment such as 2026-03-01T09:30:00Z")
    return value


Moment = Annotated[datetime, BeforeValidator(_text_moment)]
# a moment given: in UTC, and within the range every time zone can show (kit.instant; one
# with no UTC date, ``0001-01-01T00:00:00+00:01``, is a validation error, not an overflow)
MomentIn = Instant


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def not_both(first: str, second: str) -> dict[str, Any]:
    """The JSON schema of the rule "``first`` or ``second``, not both" (null is not given),
    so that ``/openapi.json`` states what the model's validator enforces."""
    given = {"not": {"type": "null"}}
    return {"not": {"required": [first, second], "properties": {first: given, second: given}}}


class PurchaseLineCreate(Strict):
    sku: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    category: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)] | None = None
    quantity: Annotated[int, Field(gt=0, le=1_000_000, strict=True), WHOLE]
    unit_price: AmountText
    discount: AmountText | None = Field(
        default=None, description="Money off the whole line (not per unit), at most its amount"
    )


class PurchaseCreate(Strict):
    """A completed order. ``external_id`` is the shop's order id; sending the same body again
    is safe (200, same result), a different body with the same id is refused (409).

    ``total`` is what was paid, shipping included. Below the lines (less their discounts)
    plus shipping, the difference is an order-level discount spread over the lines; above,
    the purchase is refused (``total_mismatch``). Points follow what each line was paid."""

    model_config = ConfigDict(json_schema_extra=not_both("member_id", "member_external_id"))

    external_id: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    member_id: Annotated[int, Field(gt=0, le=2**53, strict=True), WHOLE] | None = None
    member_external_id: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)] | None
    ) = None
    occurred_at: MomentIn
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    total: AmountText
    shipping: AmountText = "0"
    lines: Annotated[list[PurchaseLineCreate], Field(min_length=1, max_length=1000)]
    channel: Code | None = None
    store: Code | None = None
    wallet_amount: AmountText | None = Field(
        default=None,
        description="Part of ``total`` paid from the member's cashback wallet (at most its "
        "balance and the total; a member's purchase only)",
    )

    @model_validator(mode="after")
    def _one_member_reference(self) -> Self:
        if self.member_id is not None and self.member_external_id is not None:
            raise ValueError("give member_id or member_external_id, not both")
        return self

    def fingerprint(self) -> str:
        return fingerprint(body_without_empty_discounts(self.model_dump(mode="json")))


def body_without_empty_discounts(body: dict[str, Any]) -> dict[str, Any]:
    """The body with each line's ``discount`` (and ``wallet_amount``) left out where none was
    given, so a purchase without them keeps the fingerprint it had before they existed."""
    if body.get("wallet_amount", "") is None:
        del body["wallet_amount"]
    for line in body["lines"]:
        if line.get("discount", "") is None:
            del line["discount"]
    return body


class ReturnLineCreate(Strict):
    line_no: Annotated[int, Field(ge=1, strict=True), WHOLE]
    quantity: Annotated[int, Field(gt=0, strict=True), WHOLE]


class ReturnCreate(Strict):
    """A refund of part or all of a purchase: either ``lines`` (line numbers from 1 with
    quantities) or an ``amount`` of money, or neither for the whole remaining purchase."""

    model_config = ConfigDict(json_schema_extra=not_both("lines", "amount"))

    external_id: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    lines: Annotated[list[ReturnLineCreate], Field(min_length=1, max_length=1000)] | None = None
    amount: AmountText | None = None
    occurred_at: MomentIn | None = None
    reason: Annotated[str, Field(max_length=500, pattern=NO_NUL)] = ""

    @model_validator(mode="after")
    def _lines_or_amount(self) -> Self:
        if self.lines is not None and self.amount is not None:
            raise ValueError("give lines or amount, not both")
        return self

    def fingerprint(self) -> str:
        return fingerprint(self.model_dump(mode="json", exclude={"occurred_at"}))


def fingerprint(payload: dict[str, Any]) -> str:
    """SHA-256 of the payload as compact JSON with sorted keys, non-ASCII kept: the bytes of
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, which stored
    fingerprints were made with. orjson writes the same bytes several times faster; integers
    beyond 64 bits, which it refuses, take the slow road."""
    try:
        canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        canonical = text.encode()
    return hashlib.sha256(canonical).hexdigest()


class BreakdownRow(BaseModel):
    rule_id: str
    name: str
    applied: bool
    reason: str | None = None
    effect: str | None = None
    value: str | None = None
    points: int
    amount: str | None = Field(
        default=None,
        description="Money a standing discount's row took off (decimal text); only on that row",
        exclude_if=lambda value: value is None,
    )


class PurchaseLineRead(BaseModel):
    """``amount`` is quantity x unit price; ``discount`` the line's own discount; ``paid``
    what the line was paid: its amount less its discount and its share of the order-level
    discount (what a return of the whole line refunds)."""

    line_no: int
    sku: str
    category: str | None
    quantity: int
    unit_price: str
    amount: str
    discount: str
    paid: str
    returned_quantity: int


class PurchaseRead(BaseModel):
    id: int
    external_id: str
    member_id: int | None
    occurred_at: Moment
    currency: str
    total: str
    shipping: str
    channel: str | None
    store: str | None
    program_version: int
    points_earned: int
    points_reversed: int
    refunded: str
    pending_until: datetime | None
    expires_at: datetime | None
    breakdown: list[BreakdownRow]
    lines: list[PurchaseLineRead]
    wallet_paid: str = Field(
        default="0", description="The part of ``total`` the member's cashback wallet paid"
    )
    standing_discount: str = Field(
        default="0", description="What the member's standing discount took off the total"
    )


class ReturnRead(BaseModel):
    id: int
    purchase_id: int
    external_id: str
    amount: str
    points_reversed: int
    wallet_refunded: str = "0.00"
    """The part of ``amount`` given back to the member's wallet (what it paid, in proportion);
    the shop pays back the rest."""
    occurred_at: Moment
    reason: str


class QuoteRequest(Strict):
    """A cart at checkout. ``total`` defaults to the lines plus shipping less the coupons'
    discounts; ``occurred_at`` defaults to now."""

    model_config = ConfigDict(json_schema_extra=not_both("member_id", "member_external_id"))

    member_id: Annotated[int, Field(gt=0, le=2**53, strict=True), WHOLE] | None = None
    member_external_id: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)] | None
    ) = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    lines: Annotated[list[PurchaseLineCreate], Field(min_length=1, max_length=1000)]
    shipping: AmountText = "0"
    total: AmountText | None = None
    occurred_at: MomentIn | None = None
    channel: Code | None = None
    store: Code | None = None
    coupon_codes: Annotated[list[Code], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _one_member_reference(self) -> Self:
        if self.member_id is not None and self.member_external_id is not None:
            raise ValueError("give member_id or member_external_id, not both")
        return self


class QuoteDiscount(BaseModel):
    code: str
    kind: str
    target: str
    amount: str
    note: str | None


class QuoteHint(BaseModel):
    """What the customer could do to get a rule's or campaign's effect. ``message`` is
    English; ``code`` (the ``kind``) and ``params`` are what a surface renders in its own
    language (docs/api.md, "Hints")."""

    kind: str
    code: str
    params: dict[str, str | list[str]]
    rule_id: str
    rule_name: str
    effect: str
    value: str
    missing_amount: str | None
    categories: list[str]
    skus: list[str]
    message: str


class QuoteStandingDiscount(BaseModel):
    """The member's standing discount: ``amount`` taken off the goods before the coupons."""

    key: str
    name: str
    percent: str
    amount: str


class Eligibility(BaseModel):
    """Whether the member gets a gated thing (a standing discount, a campaign), and why: a
    stable ``code`` and its ``params`` (docs/api.md, "Eligibility codes")."""

    kind: str
    key: str
    eligible: bool
    code: str
    params: dict[str, Any]


class Quote(BaseModel):
    """What the cart would cost and earn; nothing is written. ``total_discount`` includes
    the standing discount."""

    member_id: int | None
    currency: str
    goods: str
    shipping: str
    total_discount: str
    total_due: str
    points_earned: int
    breakdown: list[BreakdownRow]
    discounts: list[QuoteDiscount]
    hints: list[QuoteHint]
    wallet_balance: str = Field(
        default="0", description="The member's cashback wallet balance (0 without a member)"
    )
    wallet_can_pay: str = Field(
        default="0",
        description="What the wallet can pay of this cart: the lesser of its balance and "
        "``total_due``; send it (or less) as the purchase's ``wallet_amount``",
    )
    standing_discount: QuoteStandingDiscount | None = None
    eligibility: list[Eligibility] = []


MOST_PURCHASES_PER_BATCH = 500
MOST_LINES_PER_BATCH = 20_000


class PurchaseBatchCreate(Strict):
    """Up to 500 purchases recorded in one unit of work (a till syncing after a break), with
    at most :data:`MOST_LINES_PER_BATCH` lines together (500 purchases of 1,000 lines kept the
    server busy for 21 s)."""

    purchases: Annotated[
        list[PurchaseCreate], Field(min_length=1, max_length=MOST_PURCHASES_PER_BATCH)
    ]

    @model_validator(mode="after")
    def _lines_per_batch(self) -> Self:
        check_lines_per_batch(self.purchases)
        return self


def check_lines_per_batch(purchases: Sequence[PurchaseCreate]) -> None:
    """A batch's lines together are at most :data:`MOST_LINES_PER_BATCH`."""
    lines = sum(len(purchase.lines) for purchase in purchases)
    if lines > MOST_LINES_PER_BATCH:
        raise ValueError(f"a batch has at most {MOST_LINES_PER_BATCH} lines in all, not {lines}")


class BatchError(BaseModel):
    """The error ``POST /purchases`` would have answered (its ``error`` object)."""

    code: str
    message: str
    field: str | None
    params: dict[str, Param] = {}


class PurchaseBatchItem(BaseModel):
    """``status`` is what ``POST /purchases`` would have answered for this purchase alone."""

    index: int
    status: int
    purchase: PurchaseRead | None = None
    error: BatchError | None = None


class PurchaseBatchResult(BaseModel):
    results: list[PurchaseBatchItem]
