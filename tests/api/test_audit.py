"""The audit log: every write by a staff or admin key, append-only, readable by admin."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.api.conftest import Api
from tests.conftest import SEED_PROGRAM

PURCHASE: dict[str, Any] = {
    "currency": "RUB",
    "total": "1000.00",
    "occurred_at": "2026-11-02T10:00:00Z",
    "lines": [{"sku": "TEA-1", "quantity": 1, "unit_price": "1000.00"}],
}


async def _audit(api: Api, **filters: object) -> dict[str, Any]:
    response = await api.call("GET", "/audit", params=filters)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _enrol(api: Api, external_id: str) -> int:
    response = await api.call("POST", "/members", "pos", json={"external_id": external_id})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_pos_writes_are_not_recorded_admin_writes_are(api: Api) -> None:
    member_id = await _enrol(api, "m-1")
    consent = {"channel": "email", "is_granted": True}
    assert (
        await api.call(
            "POST",
            f"/members/{member_id}/consents",
            "pos",
            json=consent,
            headers={"X-Patron-Member-External-Id": "m-1"},
        )
    ).is_success
    purchase = {**PURCHASE, "external_id": "o-1", "member_id": member_id}
    till = await api.call(
        "POST", "/purchases", "pos", json=purchase, headers={"X-Patron-Member-External-Id": "m-1"}
    )
    assert till.status_code == 201
    assert (await _audit(api))["items"] == []

    admin_purchase = {**purchase, "external_id": "o-2"}
    assert (await api.call("POST", "/purchases", "admin", json=admin_purchase)).status_code == 201
    block = await api.call("POST", f"/members/{member_id}/block", json={"reason": "fraud"})
    assert block.status_code == 200
    rows = (await _audit(api))["items"]
    assert [(r["action"], r["target"], r["role"], r["actor"], r["changed"]) for r in rows] == [
        ("members.block", f"member:{member_id}", "admin", "key", True),
        ("purchases.create_purchase", "purchases", "admin", "key", True),
    ]
    assert all(r["key_id"] is not None for r in rows)


async def test_a_refused_write_records_nothing(api: Api) -> None:
    response = await api.call("POST", "/members/77/block", json={"reason": "fraud"})
    assert response.status_code == 404
    assert (await _audit(api))["items"] == []


async def test_program_changes_record_versions_before_and_after(api: Api) -> None:
    changed = SEED_PROGRAM.read_text().replace("bonus_points: 500", "bonus_points: 600")
    response = await api.call("PUT", "/program", content=changed.encode())
    assert response.status_code == 200, response.text
    again = await api.call("PUT", "/program", content=changed.encode())
    assert again.status_code == 200
    rows = (await _audit(api, action="program.apply_program"))["items"]
    assert [(r["target"], r["changed"], r["before"], r["after"]) for r in rows] == [
        ("program:default", False, {"version": 2}, {"version": 2, "changes": []}),
        (
            "program:default",
            True,
            {"version": 1},
            {
                "version": 2,
                "changes": ["earning.rules[big-basket].effect.bonus_points: 500 -> 600"],
            },
        ),
    ]


async def test_point_adjustments_record_the_balance_before_and_after(api: Api) -> None:
    member_id = await _enrol(api, "m-1")
    ticket = await api.call(
        "POST",
        "/tickets",
        "staff",
        json={
            "member_id": member_id,
            "channel": "email",
            "category": "c",
            "subject": "s",
            "text": "t",
        },
    )
    ticket_id = ticket.json()["id"]
    goodwill = {"points": 250, "reason": "sorry", "idempotency_key": "g-1"}
    for _ in range(2):
        response = await api.call("POST", f"/tickets/{ticket_id}/goodwill", "staff", json=goodwill)
        assert response.status_code == 201, response.text
    rows = (await _audit(api, target=f"member:{member_id}"))["items"]
    zero = {"available": 0, "pending": 0, "lifetime_earned": 0, "debt": 0}
    assert [(r["action"], r["role"], r["changed"], r["before"], r["after"]) for r in rows] == [
        ("tickets.credit_goodwill", "staff", False, None, None),
        (
            "tickets.credit_goodwill",
            "staff",
            True,
            zero,
            {**zero, "available": 250, "lifetime_earned": 250},
        ),
    ]
    opened = (await _audit(api, action="tickets.open_ticket"))["items"]
    assert [(r["target"], r["role"]) for r in opened] == [("tickets", "staff")]


async def test_pages_newest_first(api: Api) -> None:
    ids = [await _enrol(api, f"m-{n}") for n in range(3)]
    for member_id in ids:
        await api.call("POST", f"/members/{member_id}/block", json={"reason": "r"})
    first = await _audit(api, limit=2)
    assert [r["target"] for r in first["items"]] == [f"member:{ids[2]}", f"member:{ids[1]}"]
    second = await _audit(api, limit=2, after=first["next_after"])
    assert [r["target"] for r in second["items"]] == [f"member:{ids[0]}"]
    assert second["next_after"] is None
    bad = await api.call("GET", "/audit", params={"limit": 0})
    assert bad.status_code == 422


async def test_rows_cannot_be_changed_on_postgresql(api: Api) -> None:
    if api.database.is_sqlite:
        pytest.skip("the append-only trigger is PostgreSQL's (SQLite: documented)")
    await api.call("PUT", "/program", content=b"not: [valid")
    member_id = await _enrol(api, "m-1")
    await api.call("POST", f"/members/{member_id}/block", json={"reason": "r"})
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with api.database.write() as session:
                await session.execute(text(statement))
    assert [r["action"] for r in (await _audit(api))["items"]] == ["members.block"]


async def test_an_admin_batch_of_purchases_is_recorded_a_till_batch_is_not(api: Api) -> None:
    member_id = await _enrol(api, "m-batch")
    till = {"purchases": [{**PURCHASE, "external_id": "b-1", "member_id": member_id}]}
    assert (await api.call("POST", "/purchases/batch", "pos", json=till)).status_code == 200
    assert (await _audit(api))["items"] == []
    admin = {"purchases": [{**PURCHASE, "external_id": "b-2", "member_id": member_id}]}
    response = await api.call("POST", "/purchases/batch", "admin", json=admin)
    assert response.status_code == 200, response.text
    rows = (await _audit(api))["items"]
    assert [(r["action"], r["target"], r["role"]) for r in rows] == [
        ("purchases.create_purchases", "purchases", "admin")
    ]
