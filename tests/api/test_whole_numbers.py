"""JSON Schema counts ``5.0`` as an integer, so the API takes it as ``5`` (schemathesis' ST202
found two bodies that said otherwise); ``5.5``, ``"5"`` and ``true`` stay errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from patron.campaigns.schemas import RaffleDraw
from patron.partners.schemas import PartnerPaymentCreate


def test_a_partner_payment_takes_a_whole_number_written_with_a_point() -> None:
    body = {"external_id": "0", "member_external_id": "m-1", "points": 100000001.0}
    assert PartnerPaymentCreate.model_validate(body).points == 100_000_001
    for wrong in (5.5, "5", True):
        with pytest.raises(ValidationError):
            PartnerPaymentCreate.model_validate({**body, "points": wrong})


def test_a_raffle_draw_takes_a_whole_number_written_with_a_point() -> None:
    assert RaffleDraw.model_validate({"winners": 319.0}).winners == 319
    for wrong in (3.5, "3", True):
        with pytest.raises(ValidationError):
            RaffleDraw.model_validate({"winners": wrong})
