"""A member with data in every table Patron keeps about members, made through the API the
way a shop, its support staff and the member make it (plus the two rows only the daily jobs
write: a segment and a ticket's text analysis)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from patron.feedback.models import TicketAnalysis
from patron.ledger import service as ledger_service
from patron.ledger.models import Lot
from patron.programs import service as program_service
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.feedback.factories import program_text, segment_row

ENROLMENT: dict[str, Any] = {
    "external_id": "+79161234567",
    "name": "Anna Petrova",
    "email": "anna@example.org",
    "phone": "+79161234567",
    "birth_date": "1990-05-17",
    "language": "ru",
    "attributes": {"city": "Tver", "pet": "Murzik"},
    "consents": {"email": True},
}
# how the till identified each member (a till acts only for a member it identified)
ANNA = {"X-Patron-Member-External-Id": ENROLMENT["external_id"]}
IVAN = {"X-Patron-Member-External-Id": "o-2"}
PURCHASE: dict[str, Any] = {
    "external_id": "order-1",
    "currency": "RUB",
    "total": "12000.00",
    "store": "msk-1",
    "occurred_at": "2026-11-02T10:00:00Z",
    "lines": [
        {"sku": "TEA-1", "category": "tea", "quantity": 2, "unit_price": "1000.00"},
        {"sku": "POT-1", "category": "ware", "quantity": 1, "unit_price": "10000.00"},
    ],
}
TICKET_TEXT = "My card 4276 does not work, call me on +79161234567"
REVIEW_TEXT = "Anna here: the tea pot leaked"
ANSWER_TEXT = "Phone me at +79161234567 about the pot"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Populated:
    member_id: int
    other_id: int
    purchase_id: int
    ticket_id: int
    review_id: int
    coupon_code: str


async def _ok(response: Any, *codes: int) -> dict[str, Any]:
    assert response.status_code in (codes or (200, 201)), response.text
    body: dict[str, Any] = response.json()
    return body


async def enrol_other(api: Api) -> int:
    """A second member with a purchase and a review, whose rows no export or erasure of the
    first may touch."""
    other = await _ok(
        await api.call("POST", "/members", "pos", json={"external_id": "o-2", "name": "Ivan"})
    )
    purchase = {**PURCHASE, "external_id": "order-2", "member_id": other["id"]}
    await _ok(await api.call("POST", "/purchases", "pos", json=purchase, headers=IVAN))
    review = {"member_id": other["id"], "rating": 5, "text": "Ivan loves it"}
    await _ok(await api.call("POST", "/reviews", "pos", json=review, headers=IVAN))
    return int(other["id"])


async def populate(api: Api) -> Populated:
    await _ok(await api.call("PUT", "/program", "admin", content=program_text().encode()))
    member = await _ok(await api.call("POST", "/members", "pos", json=ENROLMENT))
    member_id = int(member["id"])
    consent = {"channel": "sms", "is_granted": True, "source": "till-7"}
    await _ok(
        await api.call("POST", f"/members/{member_id}/consents", "pos", json=consent, headers=ANNA)
    )
    purchase = await _ok(
        await api.call(
            "POST", "/purchases", "pos", json={**PURCHASE, "member_id": member_id}, headers=ANNA
        )
    )
    refund = {
        "external_id": "ret-1",
        "lines": [{"line_no": 1, "quantity": 1}],
        "reason": "Anna: cracked",
    }
    await _ok(await api.call("POST", f"/purchases/{purchase['id']}/returns", "pos", json=refund))
    ticket = await _ok(
        await api.call(
            "POST",
            "/tickets",
            "staff",
            json={
                "member_id": member_id,
                "channel": "email",
                "category": "card",
                "subject": "Card of Anna Petrova",
                "text": TICKET_TEXT,
            },
        )
    )
    ticket_id = int(ticket["id"])
    for kind, text in (("member", "Still broken, Anna"), ("staff", "Sorry Anna, fixed")):
        message = {
            "text": text,
            "author_kind": kind,
            "author": "Anna" if kind == "member" else "Olga",
        }
        await _ok(await api.call("POST", f"/tickets/{ticket_id}/messages", "staff", json=message))
    assign = {"assignee": "Olga"}
    await _ok(await api.call("POST", f"/tickets/{ticket_id}/assign", "staff", json=assign))
    goodwill = {"points": 300, "reason": "Anna waited a week", "idempotency_key": "gw-1"}
    await _ok(await api.call("POST", f"/tickets/{ticket_id}/goodwill", "staff", json=goodwill))
    redemption = await _ok(
        await api.call(
            "POST",
            "/redemptions",
            "pos",
            json={"member_id": member_id, "reward_code": "DISC10"},
            headers=ANNA,
        )
    )
    review = await _ok(
        await api.call(
            "POST",
            "/reviews",
            "pos",
            json={"member_id": member_id, "rating": 2, "text": REVIEW_TEXT},
            headers=ANNA,
        )
    )
    reply = {"text": "Dear Anna, we are sorry"}
    await _ok(await api.call("POST", f"/reviews/{review['id']}/replies", "staff", json=reply))
    batch = await _ok(
        await api.call(
            "POST",
            "/surveys/nps/invitations",
            "staff",
            json={"member_ids": [member_id], "source_ref": "campaign-1"},
        )
    )
    token = batch["invitations"][0]["token"]
    answered = await api.client.post(f"/s/{token}", data={"nps": "3", "why": ANSWER_TEXT})
    assert answered.status_code == 200, answered.text
    async with api.database.write() as session:
        program_id = int(member["program_id"])
        session.add(segment_row(member_id, program_id, "at_risk"))
        session.add(
            TicketAnalysis(
                ticket_id=ticket_id, language="en", label="negative", keywords=["card", "anna"]
            )
        )
    async with api.database.write() as session:
        # the daily job's announcement of the member's first points to expire, 3 days ahead
        first = await session.scalar(
            select(func.min(Lot.expires_at)).where(Lot.member_id == member_id, Lot.remaining > 0)
        )
        assert first is not None
        active = await program_service.get_active_program(session)
        announced = await ledger_service.announce_expiring(
            session,
            program_id=program_id,
            timezone=active.program.program.timezone,
            notice_days=active.program.earning.expiry.notice_days,
            now=first - timedelta(days=3),
        )
        assert announced >= 1
    other_id = await enrol_other(api)
    return Populated(
        member_id=member_id,
        other_id=other_id,
        purchase_id=int(purchase["id"]),
        ticket_id=ticket_id,
        review_id=int(review["id"]),
        coupon_code=str(redemption["coupon"]["code"]),
    )


@pytest.fixture
async def populated(api: Api) -> Populated:
    return await populate(api)
