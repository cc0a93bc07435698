"""Lines whose sum does not fit the database's 64-bit amounts are refused as input (422
``invalid_amount`` naming ``lines``) on the single and the batch route, and nothing is written
(PostgreSQL answered 500 ``value out of int64 range``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from patron.purchases.models import Purchase
from tests.api.conftest import Api
from tests.api.test_purchases import enrol


def _huge(external_id: str) -> dict[str, Any]:
    line = {"sku": "gold", "category": "tea", "quantity": 1_000_000, "unit_price": "99999999999.00"}
    return {
        "external_id": external_id,
        "member_external_id": "big-1",
        "occurred_at": "2026-01-10T10:00:00Z",
        "currency": "RUB",
        "total": "1.00",
        "lines": [line, line],
    }


async def _purchases(api: Api) -> int:
    async with api.database.read() as session:
        return int((await session.execute(select(func.count()).select_from(Purchase))).scalar_one())


async def test_lines_beyond_64_bits_are_refused_and_nothing_is_written(api: Api) -> None:
    await enrol(api, "big-1")
    single = await api.call("POST", "/purchases", json=_huge("big-a"), role="pos")
    assert single.status_code == 422, single.text
    assert (single.json()["error"]["code"], single.json()["error"]["field"]) == (
        "invalid_amount",
        "lines",
    )
    batch = await api.call("POST", "/purchases/batch", json={"purchases": [_huge("big-b")]})
    assert batch.status_code == 200, batch.text
    (item,) = batch.json()["results"]
    assert item["status"] == 422, item
    assert item["error"]["code"] == "invalid_amount"
    assert await _purchases(api) == 0


async def test_a_member_id_beyond_2_to_the_53_is_refused_as_input(api: Api) -> None:
    """A batch naming member 2**68 answered 500 on both databases (the lock of the batch's
    members could not pass the id to the driver); the schema bounds ids at 2**53."""
    body = _huge("big-c") | {"member_id": 2**68, "member_external_id": None}
    del body["member_external_id"]
    single = await api.call("POST", "/purchases", json=body, role="pos")
    assert single.status_code == 422, single.text
    assert single.json()["error"]["field"] == "member_id"
    batch = await api.call("POST", "/purchases/batch", json={"purchases": [body]})
    assert batch.status_code == 422, batch.text
    assert batch.json()["error"]["field"] == "purchases[0].member_id"
    assert await _purchases(api) == 0


async def test_a_nul_byte_in_purchase_text_is_refused_as_input(api: Api) -> None:
    """A NUL in a batch's ``member_external_id`` or ``sku`` answered 500 on PostgreSQL."""
    await enrol(api, "big-1")
    body = _huge("nul-a")
    body["lines"] = [{"sku": "a\x00b", "category": "tea", "quantity": 1, "unit_price": "1.00"}]
    body["total"] = "1.00"
    single = await api.call("POST", "/purchases", json=body, role="pos")
    assert single.status_code == 422, single.text
    assert single.json()["error"]["field"] == "lines[0].sku"
    named = _huge("nul-b") | {"member_external_id": "big\x00-1"}
    batch = await api.call("POST", "/purchases/batch", json={"purchases": [named]})
    assert batch.status_code == 422, batch.text
    assert batch.json()["error"]["field"] == "purchases[0].member_external_id"
    assert await _purchases(api) == 0
