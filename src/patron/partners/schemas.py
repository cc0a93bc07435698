"""What the partners' operations take and answer (docs/partners.md)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from patron.kit.instant import Instant
from patron.kit.strict import WHOLE
from patron.kit.text import NO_NUL
from patron.purchases.schemas import AmountText

ExternalId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[!-~]+$")]
CardNumber = Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]


class PartnerPurchaseCreate(BaseModel):
    """A purchase at the partner: ``external_id`` is the partner's own id of it (a retry with
    the same id and body answers the first result), ``member_external_id`` the member's card
    number, ``amount`` the money paid (a decimal string in the partner's currency)."""

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    member_external_id: CardNumber
    amount: AmountText
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    occurred_at: Instant | None = None

    def fingerprint(self) -> str:
        body = self.model_dump(mode="json", exclude={"occurred_at"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class PartnerPaymentCreate(BaseModel):
    """Points the member pays with at the partner: ``external_id`` is the partner's own id of
    the payment (idempotent), ``points`` how many."""

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    member_external_id: CardNumber
    points: Annotated[int, Field(ge=1, le=1_000_000_000, strict=True), WHOLE]


class PartnerPurchase(BaseModel):
    purchase_id: int
    """The purchase's id in Patron (``POST /purchases/{id}/returns`` returns it)."""
    partner_id: str
    external_id: str
    member_id: int
    amount: str
    currency: str
    points: int
    """Points earned at the partner's rate."""
    occurred_at: datetime
    pending_until: datetime | None


class PartnerPayment(BaseModel):
    entry_id: int
    """The ledger entry (kind ``redeem``, source ``partner_burn``)."""
    partner_id: str
    external_id: str
    member_id: int
    points: int
    created_at: datetime


class PartnerView(BaseModel):
    """A partner as the program file declares it (prices as decimal strings)."""

    id: str
    name: str
    currency: str
    earn_points: int
    earn_per_amount: str
    earn_price_per_point: str
    burn_price_per_point: str


class Settlement(BaseModel):
    """One partner's settlement for ``[from, to)``; money in minor units of ``currency``."""

    model_config = ConfigDict(populate_by_name=True)

    partner_id: str
    name: str
    currency: str
    from_: datetime = Field(alias="from")
    to: datetime
    points_issued: int
    """Points the partner's purchases earned (entries ``partner_earn``)."""
    points_returned: int
    """Points taken back by returns of the partner's purchases (``reverse`` entries)."""
    points_redeemed: int
    """Points the partner accepted as payment (entries ``partner_burn``)."""
    owed_by_partner: int
    """What the partner owes the program for the points issued less those returned."""
    owed_to_partner: int
    """What the program owes the partner for the points it accepted."""
    net: int
    """``owed_by_partner - owed_to_partner``: above 0 the partner pays the program."""


@dataclass(frozen=True, slots=True)
class Movement:
    """One ledger entry of a partner, as the settlement counts it: ``points`` signed as the
    entry, ``price`` the price per point recorded with it (1/10**4 of a minor unit)."""

    partner_id: str
    kind: str  # "issued", "returned" or "redeemed"
    points: int
    price: int
    currency: str
