"""``POST /events`` through the API: the example program's custom events (``social_share``,
``app_install``), a retry answered 200 with the first answer, a conflict, an unknown type, an
unknown member, and the stats of the campaign."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from patron.members.models import Member
from tests.api.conftest import Api
from tests.api.test_purchases import enrol
from tests.conftest import REPO

EXAMPLE = (REPO / "examples" / "campaigns-program.yaml").read_text()
WHEN = "2026-12-01T10:00:00Z"  # inside the example's windows


def _event(key: str, kind: str = "social_share", **fields: Any) -> dict[str, Any]:
    return {
        "member_external_id": "ann",
        "type": kind,
        "occurred_at": WHEN,
        "idempotency_key": key,
        "attributes": {"network": "vk"},
        **fields,
    }


async def test_an_event_credits_once_and_a_retry_answers_the_same(api: Api) -> None:
    response = await api.call("PUT", "/program", content=EXAMPLE.encode())
    assert response.status_code == 200, response.text
    member = await enrol(api, "ann")
    first = await api.call("POST", "/events", role="pos", json=_event("share-1"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["points"] == 50
    assert body["campaigns"] == [
        {"key": "social-share", "applied": True, "points": 50, "reason": None}
    ]
    retry = await api.call("POST", "/events", role="pos", json=_event("share-1"))
    assert retry.status_code == 200
    assert retry.json() == body
    install = await api.call(
        "POST", "/events", role="staff", json=_event("install-1", "app_install")
    )
    assert install.json()["points"] == 200
    ledger = await api.call("GET", f"/members/{member['id']}/ledger")
    campaign_entries = [e for e in ledger.json()["items"] if e["source_type"] == "campaign"]
    assert sorted(e["amount"] for e in campaign_entries) == [50, 200]
    stats = await api.call("GET", "/campaigns/social-share/stats")
    assert stats.status_code == 200
    got = stats.json()
    assert (got["participants"], got["applications"], got["points_spent"]) == (1, 1, 50)
    assert (got["budget_points"], got["budget_left"]) == (100000, 99950)


async def test_refusals_have_stable_codes(api: Api) -> None:
    await api.call("PUT", "/program", content=EXAMPLE.encode())
    await enrol(api, "ann")
    await api.call("POST", "/events", role="pos", json=_event("share-1"))
    conflict = await api.call(
        "POST", "/events", role="pos", json=_event("share-1", attributes={"network": "tg"})
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    unknown = await api.call("POST", "/events", role="pos", json=_event("x", "tiktok_dance"))
    assert unknown.status_code == 422
    assert (unknown.json()["error"]["code"], unknown.json()["error"]["field"]) == (
        "unknown_event_type",
        "type",
    )
    nobody = await api.call(
        "POST", "/events", role="pos", json=_event("y", member_external_id="nobody")
    )
    assert nobody.status_code == 404
    assert nobody.json()["error"]["code"] == "member_not_found"
    both = await api.call("POST", "/events", role="pos", json=_event("z", member_id=1))
    assert both.status_code == 422
    assert both.json()["error"]["code"] == "validation_error"
    partner = await api.call("POST", "/events", role="partner", json=_event("w"))
    assert partner.status_code == 403


async def test_the_operation_declares_its_errors(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/events"]["post"]
    assert {"200", "201", "404", "409", "422"} <= set(operation["responses"])
    rules = operation["responses"]["422"].get("x-rule-codes", [])
    assert {"unknown_event_type", "occurred_in_future"} <= set(rules)


async def _changed_at(api: Api, external_id: str) -> object:
    async with api.database.read() as session:
        return await session.scalar(
            select(Member.birth_date_changed_at).where(Member.external_id == external_id)
        )


async def test_a_batch_that_changes_a_birth_date_stamps_the_change(api: Api) -> None:
    """The birthday's abuse guard sees a change made by ``POST /members/batch`` (the
    import's update path) as well as by ``PATCH /members/{id}``."""

    async def batch(birth_date: str) -> None:
        body = {"members": [{"external_id": "bea", "birth_date": birth_date}]}
        response = await api.call("POST", "/members/batch", json=body)
        assert response.status_code == 200, response.text

    await batch("1990-12-10")
    assert await _changed_at(api, "bea") is None  # given at enrolment: not a change
    await batch("1990-12-10")
    assert await _changed_at(api, "bea") is None  # the same date again
    await batch("1990-12-11")
    assert await _changed_at(api, "bea") is not None
