"""The device and payment fingerprints a purchase may carry (``POST /purchases`` and each
purchase of ``POST /purchases/batch``): the request bodies that take them, and the check they
feed once the purchases are recorded, in the same unit of work.

They are what the shop knows of the device and the card a purchase was made with, as at
enrolment: stored hashed for the purchase's member and compared with the other side of the
member's referrals (the self-referral check, :func:`patron.referrals.service.
check_purchase_fingerprints`). They are not part of a purchase's idempotency: the same purchase
sent again with or without them is answered as before, and checking again flags nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from patron.programs.schemas import ActiveProgram
from patron.purchases.schemas import (
    MOST_PURCHASES_PER_BATCH,
    PurchaseBatchCreate,
    PurchaseBatchResult,
    PurchaseCreate,
    Strict,
    check_lines_per_batch,
)
from patron.referrals import service as referral_service
from patron.referrals.schemas import EnrolmentReferral, Fingerprint

_FINGERPRINTS = {"device_fingerprint", "payment_fingerprint"}


class PurchaseWithFingerprints(PurchaseCreate):
    """A purchase and, when the shop has them, the ``device_fingerprint`` and
    ``payment_fingerprint`` it was made with (as at enrolment: stored hashed for the member,
    compared by the self-referral check; not part of the purchase's idempotency). The fast
    path takes purchases without them; with them, the standard route records them."""

    device_fingerprint: Fingerprint | None = None
    payment_fingerprint: Fingerprint | None = None

    def purchase(self) -> PurchaseCreate:
        return PurchaseCreate.model_validate(self.model_dump(exclude=_FINGERPRINTS))

    def fingerprints(self) -> EnrolmentReferral | None:
        """The fingerprints given, ``None`` when neither is."""
        if self.device_fingerprint is None and self.payment_fingerprint is None:
            return None
        return EnrolmentReferral.model_validate(self.model_dump(include=_FINGERPRINTS))


class PurchaseBatchWithFingerprints(Strict):
    """Up to 500 purchases recorded in one unit of work (``PurchaseBatchCreate``), each with
    the optional ``device_fingerprint`` and ``payment_fingerprint`` of ``POST /purchases``."""

    purchases: Annotated[
        list[PurchaseWithFingerprints],
        Field(min_length=1, max_length=MOST_PURCHASES_PER_BATCH),
    ]

    @model_validator(mode="after")
    def _lines_per_batch(self) -> Self:
        check_lines_per_batch(self.purchases)
        return self

    def batch(self) -> PurchaseBatchCreate:
        return PurchaseBatchCreate.model_construct(
            purchases=[purchase.purchase() for purchase in self.purchases]
        )

    def fingerprints(self) -> list[EnrolmentReferral | None]:
        """Each purchase's fingerprints, in the batch's order."""
        return [purchase.fingerprints() for purchase in self.purchases]


async def check_fingerprints(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    member_id: int | None,
    given: EnrolmentReferral | None,
    now: datetime,
) -> None:
    """Store a recorded purchase's fingerprints for its member and flag the referrals they
    expose (nothing for an anonymous purchase or one without fingerprints)."""
    if member_id is None or given is None:
        return
    await referral_service.check_purchase_fingerprints(
        session, active=active, member_id=member_id, data=given, now=now
    )


async def check_batch_fingerprints(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    given: list[EnrolmentReferral | None],
    result: PurchaseBatchResult,
    now: datetime,
) -> None:
    """:func:`check_fingerprints` for each purchase of a batch that was recorded (201) or
    answered as before (200); a refused one stores nothing."""
    for item in result.results:
        if item.purchase is None or item.status not in (200, 201):
            continue
        await check_fingerprints(
            session,
            active=active,
            member_id=item.purchase.member_id,
            given=given[item.index],
            now=now,
        )
