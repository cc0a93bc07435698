"""``/tickets`` over HTTP: a ticket's life (the roles: ``tests/api/test_role_matrix.py``)."""

from __future__ import annotations

from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.ledger.verify import verify
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.programs.service import get_active_program
from tests.api.conftest import Api

CARD = {"X-Patron-Member-External-Id": "cust-1"}  # the till identified the member by card
OPEN = {"member_id": 1, "channel": "email", "category": "delivery", "subject": "Late", "text": "x"}


async def _member(api: Api, external_id: str = "cust-1") -> int:
    async with api.database.write() as session:
        active = await get_active_program(session)
        member = await member_service.enrol_member(
            session,
            program_id=active.program_id,
            data=MemberCreate(external_id=external_id),
            now=utcnow(),
        )
        await ledger_service.open_account(session, member_id=member.id, now=utcnow())
    return member.id


async def test_pos_may_not_answer_as_staff(api: Api) -> None:
    await _member(api)
    opened = await api.call("POST", "/tickets", role="pos", json=OPEN, headers=CARD)
    ticket_id = opened.json()["id"]
    refused = await api.call(
        "POST", f"/tickets/{ticket_id}/messages", role="pos", json={"text": "We fixed it"}
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    detail = await api.call("GET", f"/tickets/{ticket_id}", role="staff")
    assert (detail.json()["messages"], detail.json()["first_response_at"]) == ([], None)


async def test_a_ticket_over_http(api: Api) -> None:
    member_id = await _member(api)
    body = {**OPEN, "member_id": member_id, "source_ref": "pos-1"}
    created = await api.call("POST", "/tickets", role="pos", json=body, headers=CARD)
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert (ticket["status"], ticket["created_by"], ticket["source"]) == (
        "open",
        "test-pos",
        "member",
    )
    retried = await api.call("POST", "/tickets", role="pos", json=body, headers=CARD)
    assert (retried.status_code, retried.json()["id"]) == (200, ticket["id"])
    path = f"/tickets/{ticket['id']}"
    reply = await api.call("POST", f"{path}/messages", role="staff", json={"text": "Sorry!"})
    assert (reply.status_code, reply.json()["author"]) == (201, "test-staff")
    refused = await api.call("POST", f"{path}/status", role="staff", json={"status": "closed"})
    assert refused.status_code == 200
    again = await api.call("POST", f"{path}/status", role="staff", json={"status": "open"})
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "invalid_ticket_transition",
        "message": "a closed ticket cannot become open",
        "field": "status",
        "params": {},
    }
    shown = (await api.call("GET", path, role="staff")).json()
    assert (shown["status"], shown["first_response_at"] is not None) == ("closed", True)


async def test_goodwill_over_http_credits_once(api: Api) -> None:
    member_id = await _member(api)
    created = await api.call(
        "POST", "/tickets", role="pos", json={**OPEN, "member_id": member_id}, headers=CARD
    )
    path = f"/tickets/{created.json()['id']}/goodwill"
    body = {"points": 150, "reason": "Late delivery", "idempotency_key": "gw-1"}
    first = await api.call("POST", path, role="staff", json=body)
    second = await api.call("POST", path, role="staff", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    over = await api.call(
        "POST", path, role="staff", json={**body, "points": 900, "idempotency_key": "gw-2"}
    )
    assert (over.status_code, over.json()["error"]["code"]) == (409, "goodwill_cap_exceeded")
    member = (await api.call("GET", f"/members/{member_id}", role="staff")).json()
    assert member["points"]["available"] == 150
    async with api.database.read() as session:
        assert await verify(session, now=utcnow()) == []


async def test_a_large_staff_goodwill_waits_for_an_admin_over_http(api: Api) -> None:
    member_id = await _member(api)
    created = await api.call(
        "POST", "/tickets", role="pos", json={**OPEN, "member_id": member_id}, headers=CARD
    )
    path = f"/tickets/{created.json()['id']}/goodwill"
    body = {"points": 600, "reason": "Broken order", "idempotency_key": "gw-big"}
    asked = await api.call("POST", path, role="staff", json=body)
    assert asked.status_code == 201, asked.text
    waiting = asked.json()
    assert (waiting["status"], waiting["entry_id"], waiting["decided_by"]) == (
        "pending_approval",
        None,
        None,
    )
    decide = f"{path}/{waiting['id']}/approve"
    assert (await api.call("POST", decide, role="staff")).status_code == 403
    member = (await api.call("GET", f"/members/{member_id}", role="staff")).json()
    assert member["points"]["available"] == 0
    approved = await api.call("POST", decide, role="admin")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["points"]) == ("credited", 600)
    member = (await api.call("GET", f"/members/{member_id}", role="staff")).json()
    assert member["points"]["available"] == 600
    rejected = await api.call("POST", f"{path}/{waiting['id']}/reject", role="admin")
    assert (rejected.status_code, rejected.json()["error"]["code"]) == (
        409,
        "goodwill_already_decided",
    )
    audit = (
        await api.call("GET", "/audit", role="admin", params={"action": "tickets.approve_goodwill"})
    ).json()
    assert [(row["role"], row["changed"]) for row in audit["items"]] == [("admin", True)]


async def test_listing_kpis_and_returns(api: Api) -> None:
    member_id = await _member(api)
    for n in range(3):
        await api.call(
            "POST",
            "/tickets",
            role="staff",
            json={**OPEN, "member_id": member_id, "subject": f"s{n}"},
        )
    page = await api.call("GET", "/tickets?limit=2", role="staff")
    assert [t["subject"] for t in page.json()["items"]] == ["s0", "s1"]
    assert page.json()["next_offset"] == 2
    breached = await api.call("GET", "/tickets?breached=true", role="staff")
    assert breached.json()["items"] == []
    kpis = await api.call("GET", "/tickets/kpis", role="staff")
    assert kpis.json()["overall"]["tickets"] == 3
    assert kpis.json()["overall"]["first_response_sla"] == {"due": 0, "within": 0, "share": None}
    bad = await api.call(
        "GET", "/tickets/kpis?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", role="staff"
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "from")
    stats = await api.call("GET", "/tickets/returns-stats", role="staff")
    assert stats.json() == {
        "date_from": None,
        "date_to": None,
        "currency": "RUB",
        "by_product": [],
        "by_store": [],
    }
    missing = await api.call("GET", "/tickets/999", role="staff")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ticket_not_found")
