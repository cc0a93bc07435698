"""JSON Schema counts ``5.0`` as an integer, so the API takes it as ``5`` (schemathesis' ST202
found two bodies that said otherwise); ``5.5``, ``"5"`` and ``true`` stay errors."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from pydantic import ValidationError

from patron.campaigns.schemas import RaffleDraw
from patron.partners.schemas import PartnerPaymentCreate
from tests.api.conftest import Api
from tests.api.test_purchases import enrol


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


@pytest.mark.parametrize("written", ["1_0", "+10", " 10", "10\n", "10.0", "١٠"])
async def test_a_path_or_query_integer_is_plain_digits(api: Api, written: str) -> None:
    """Path and query integers arrive as text, and pydantic's lax ``int`` read ``"1_0"``,
    ``"+10"``, ``" 10"``, ``"10\\n"`` and ``"10.0"`` as 10: ``/members/1_0`` was member 10.
    Now they answer what any other text does (``kit.strict.DIGITS``)."""
    for number in range(1, 11):
        await enrol(api, f"w-{number}")
    assert (await api.call("GET", "/members/10", "staff")).json()["external_id"] == "w-10"
    answer = await api.call("GET", f"/members/{quote(written)}", "staff")
    assert answer.status_code == 422, answer.text
    assert (answer.json()["error"]["code"], answer.json()["error"]["field"]) == (
        "validation_error",
        "member_id",
    )
    listed = await api.call("GET", f"/members?limit={quote(written)}", "staff")
    assert listed.status_code == 422, listed.text
    assert listed.json()["error"]["field"] == "limit"
