"""Export and erasure of a member's personal data through the API (GDPR art. 15/17/20)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from patron.analytics.kpis.service import KpiQuery, kpi_report
from patron.kit import outbox
from patron.kit.db import Base
from patron.kit.outbox import DomainEvent
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.privacy.repository import CHILD_SECTIONS, MEMBER_SECTIONS, REFERRAL_SECTIONS
from tests.api.conftest import Api
from tests.privacy.conftest import ANSWER_TEXT, ENROLMENT, REVIEW_TEXT, TICKET_TEXT, Populated

PERSONAL = ("Anna", "Petrova", "anna@example.org", "+7916", "79161234567", "Tver", "Murzik", "4276")


def test_every_table_that_refers_to_a_member_is_exported() -> None:
    exported = {table.name for table in MEMBER_SECTIONS.values()}
    children = {table.name for table, _column, _parent in CHILD_SECTIONS.values()}
    children |= {table.name for table in REFERRAL_SECTIONS.values()}
    parents = {"members", "tickets", "reviews"}
    for table in Base.metadata.sorted_tables:
        keys: set[str] = {key.column.table.name for key in table.foreign_keys}
        if table.name == "members":
            continue
        if "member_id" in table.c or keys & parents:
            assert table.name in exported | children, table.name


async def _export(api: Api, member_id: int) -> dict[str, Any]:
    response = await api.call("GET", f"/members/{member_id}/export")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    del body["exported_at"]
    return body


async def test_export_holds_every_row_of_the_member_and_no_other(
    api: Api, populated: Populated
) -> None:
    body = await _export(api, populated.member_id)
    profile = body["profile"]
    for field in ("external_id", "name", "email", "phone", "birth_date", "attributes"):
        assert profile[field] == ENROLMENT[field]
    assert profile["erased_at"] is None
    assert [(c["channel"], c["is_granted"], c["source"]) for c in body["consents"]] == [
        ("email", True, "enrolment"),
        ("sms", True, "till-7"),
    ]
    assert [(e["channel"], e["source"]) for e in body["consent_history"]] == [
        ("email", "enrolment"),
        ("sms", "till-7"),
    ]
    assert [p["external_id"] for p in body["purchases"]] == ["order-1"]
    assert [line["sku"] for line in body["purchase_lines"]] == ["TEA-1", "POT-1"]
    assert [r["reason"] for r in body["returns"]] == ["Anna: cracked"]
    assert [(e["kind"], e["amount"]) for e in body["ledger"]] == [
        ("earn", 1700),
        ("reverse", -141),
        ("adjust", 300),
        ("redeem", -100),
        ("bonus", 20),
        ("bonus", 50),
    ], [(e["kind"], e["amount"]) for e in body["ledger"]]
    assert [c["code"] for c in body["coupons"]] == [populated.coupon_code]
    assert [(t["id"], t["text"]) for t in body["tickets"]] == [(populated.ticket_id, TICKET_TEXT)]
    assert [m["text"] for m in body["ticket_messages"]] == [
        "Still broken, Anna",
        "Sorry Anna, fixed",
    ]
    assert [e["to_value"] for e in body["ticket_events"]][-1:] == ["Olga"]
    assert [a["keywords"] for a in body["ticket_analyses"]] == [["card", "anna"]]
    assert [g["points"] for g in body["goodwill"]] == [300]
    assert [(r["id"], r["text"]) for r in body["reviews"]] == [(populated.review_id, REVIEW_TEXT)]
    assert [r["text"] for r in body["review_replies"]] == ["Dear Anna, we are sorry"]
    assert [a["text"] for a in body["survey_answers"]] == [None, ANSWER_TEXT]
    assert [s["rfm_segment"] for s in body["segments"]] == ["at_risk"]
    assert len(body["tier_history"]) == 1
    [notice] = body["expiry_notices"]
    [announced] = [e["payload"] for e in body["events"] if e["type"] == "points.expiring"]
    assert (announced["external_id"], announced["points"]) == (
        ENROLMENT["external_id"],
        notice["points"],
    )
    assert notice["points"] > 0
    assert len(body["account"]) == 1
    assert len(body["survey_responses"]) == 1
    for section, rows in body.items():
        for row in rows if isinstance(rows, list) else []:
            assert row.get("member_id", populated.member_id) == populated.member_id, section


async def _kpis(api: Api) -> dict[str, Any]:
    async with api.database.read() as session:
        return await kpi_report(session, query=KpiQuery(), today=date(2026, 12, 31))


async def _audit(api: Api, **filters: str) -> list[dict[str, Any]]:
    response = await api.call("GET", "/audit", params=filters)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_erasure_removes_the_person_and_keeps_ledger_and_kpis(
    api: Api, populated: Populated
) -> None:
    kpis_before = await _kpis(api)
    other_before = await _export(api, populated.other_id)
    kept_before = await _export(api, populated.member_id)

    first = await api.call("POST", f"/members/{populated.member_id}/erase")
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["member_id"] == populated.member_id
    assert answer["external_id"] == f"erased-{populated.member_id}"
    assert answer["status"] == "erased"

    after = await _export(api, populated.member_id)
    text = json.dumps(after, ensure_ascii=False)
    for word in PERSONAL:
        assert word not in text, word
    profile = after["profile"]
    assert (profile["name"], profile["email"], profile["phone"], profile["birth_date"]) == (
        None,
        None,
        None,
        None,
    )
    assert profile["attributes"] == {}
    assert (profile["status"], profile["blocked_reason"]) == ("blocked", "erased")
    assert profile["erased_at"] == answer["erased_at"]
    assert [c["is_granted"] for c in after["consents"]] == [False, False]
    assert [e["source"] for e in after["consent_history"]] == ["erased"] * 4
    assert [a["text"] for a in after["survey_answers"]] == [None, None]
    assert [t["text"] for t in after["tickets"]] == [""]
    # the money, the points and the scores stay exactly as they were
    kept = ("purchases", "purchase_lines", "account", "lots", "coupons", "segments")
    for section in (*kept, "expiry_notices"):
        assert after[section] == kept_before[section], section
    amounts = [(e["id"], e["kind"], e["amount"]) for e in after["ledger"]]
    assert amounts == [(e["id"], e["kind"], e["amount"]) for e in kept_before["ledger"]]
    assert [r["rating"] for r in after["reviews"]] == [2]
    assert await _export(api, populated.other_id) == other_before
    assert await _kpis(api) == kpis_before
    async with api.database.read() as session:
        assert await ledger_service.verify(session, now=utcnow()) == []

    again = await api.call("POST", f"/members/{populated.member_id}/erase")
    assert again.status_code == 200
    assert again.json() == answer
    assert await _export(api, populated.member_id) == after
    rows = await _audit(api, action="members.erase")
    assert [(r["target"], r["changed"], r["role"]) for r in rows] == [
        (f"member:{populated.member_id}", False, "admin"),
        (f"member:{populated.member_id}", True, "admin"),
    ]


async def test_an_erased_member_takes_no_new_data_and_the_old_id_enrols_anew(
    api: Api, populated: Populated
) -> None:
    member_id = populated.member_id
    assert (await api.call("POST", f"/members/{member_id}/erase")).status_code == 200
    before = await _export(api, member_id)
    for method, path, body in (
        ("PATCH", f"/members/{member_id}", {"email": "new@example.org"}),
        ("POST", f"/members/{member_id}/consents", {"channel": "email", "is_granted": True}),
        ("POST", f"/members/{member_id}/unblock", None),
        ("POST", f"/members/{member_id}/block", {"reason": "x"}),
    ):
        refused = await api.call(method, path, json=body)
        assert refused.status_code == 409, (path, refused.text)
        assert refused.json()["error"]["code"] == "member_erased"
    purchase = {
        "external_id": "order-9",
        "member_id": member_id,
        "currency": "RUB",
        "total": "100.00",
        "occurred_at": "2026-11-03T10:00:00Z",
        "lines": [{"sku": "TEA-1", "quantity": 1, "unit_price": "100.00"}],
    }
    # the erased member's card number is gone: only a key that may act by id gets this far
    refused = await api.call("POST", "/purchases", "admin", json=purchase)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "member_blocked"
    assert await _export(api, member_id) == before
    # the shop's old id is free: the person comes back as a new member, and a retry of that
    # enrolment is a replay of it
    again = await api.call("POST", "/members", "pos", json=ENROLMENT)
    assert again.status_code == 201, again.text
    assert again.json()["id"] not in (member_id, populated.other_id)
    replay = await api.call("POST", "/members", "pos", json=ENROLMENT)
    assert (replay.status_code, replay.json()["id"]) == (200, again.json()["id"])
    # a purchase retried with its old external id is still the same purchase
    old = await api.call("GET", f"/purchases/{populated.purchase_id}")
    assert old.json()["external_id"] == "order-1"


async def test_unknown_member_is_404_and_records_nothing(api: Api) -> None:
    for method, path in (("POST", "/members/999/erase"), ("GET", "/members/999/export")):
        response = await api.call(method, path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "member_not_found"
    assert await _audit(api) == []


async def test_only_admin_exports_erases_and_reads_the_audit_log(
    api: Api, populated: Populated
) -> None:
    member_id = populated.member_id
    before = await _export(api, member_id)
    audit_before = await _audit(api)
    for method, path in (
        ("GET", f"/members/{member_id}/export"),
        ("POST", f"/members/{member_id}/erase"),
        ("GET", "/audit"),
    ):
        anonymous = await api.call(method, path, role=None)
        assert anonymous.status_code == 401
        for role in ("staff", "pos", "partner"):
            refused = await api.call(method, path, role=role)
            assert refused.status_code == 403, (role, path)
            assert refused.json()["error"]["code"] == "forbidden"
    # the export of the check above was the only new row
    assert await _export(api, member_id) == before
    audit_after = await _audit(api)
    assert [r["action"] for r in audit_after[: len(audit_after) - len(audit_before)]] == [
        "members.export"
    ]


class _Noted(DomainEvent):
    type = "tests.noted"
    member_id: int
    external_id: str
    note: str


async def test_the_members_events_are_exported_and_erasure_replaces_the_shops_id_in_them(
    api: Api, populated: Populated
) -> None:
    member_id = populated.member_id
    async with api.database.write() as session:
        event = _Noted(member_id=member_id, external_id=ENROLMENT["external_id"], note="kept")
        await outbox.emit(session, event, program_id=None)
    before = await _export(api, member_id)
    assert [e["payload"] for e in before["events"] if e["type"] == "tests.noted"] == [
        {"member_id": member_id, "external_id": ENROLMENT["external_id"], "note": "kept"}
    ]
    assert all(e["member_id"] == member_id for e in before["events"])

    assert (await api.call("POST", f"/members/{member_id}/erase")).status_code == 200
    after = await _export(api, member_id)
    assert [e["payload"] for e in after["events"] if e["type"] == "tests.noted"] == [
        {"member_id": member_id, "external_id": f"erased-{member_id}", "note": "kept"}
    ]
