"""``POST /api/v1/members/batch``: each member answers with the status it would have had
alone; a refused one does not stop the others; only admins may call it."""

from __future__ import annotations

from sqlalchemy import func, select

from patron.ledger.models import LedgerEntry
from patron.members.models import Member
from tests.api.conftest import Api

ANNA = {
    "external_id": "c-1",
    "name": "Anna",
    "phone": "+48 601 234 567",
    "consent_email": True,
    "consent_sms": "2024-05-01",
    "opening_points": 250,
    "tier": "silver",
    "tier_until": "2099-06-30",
    "attributes": {"city": "Warsaw"},
}


async def _counts(api: Api) -> tuple[int, int]:
    async with api.database.read() as session:
        members = (await session.execute(select(func.count()).select_from(Member))).scalar_one()
        entries = (
            await session.execute(select(func.count()).select_from(LedgerEntry))
        ).scalar_one()
    return members, entries


async def test_batch_answers_each_member_with_its_own_status(api: Api) -> None:
    body = {"members": [ANNA, {"external_id": "c-2", "email": "nope"}, {"external_id": "c-3"}]}
    response = await api.call("POST", "/members/batch", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [(i["external_id"], i["status"]) for i in answer["items"]] == [
        ("c-1", "new"),
        ("c-2", "refused"),
        ("c-3", "new"),
    ]
    assert answer["items"][1]["errors"] == [
        {
            "field": "email",
            "code": "invalid_value",
            "message": "must be an email address such as anna@example.com",
        }
    ]
    assert (answer["new"], answer["refused"]) == (2, 1)
    member = (await api.call("GET", "/members/by-external-id/c-1")).json()
    assert (member["phone"], member["tier_id"], member["attributes"]) == (
        "+48601234567",
        "silver",
        {"city": "Warsaw"},
    )
    assert member["points"]["available"] == 250

    changed = {**ANNA, "opening_points": 200}
    again = await api.call(
        "POST", "/members/batch", json={"members": [ANNA, {"external_id": "c-3"}]}
    )
    assert [i["status"] for i in again.json()["items"]] == ["unchanged", "unchanged"]
    dry = await api.call("POST", "/members/batch", json={"members": [changed], "dry_run": True})
    assert [i["status"] for i in dry.json()["items"]] == ["updated"]
    assert await _counts(api) == (2, 1)


async def test_more_than_500_members_is_refused_whole(api: Api) -> None:
    members = [{"external_id": f"c-{n}"} for n in range(501)]
    response = await api.call("POST", "/members/batch", json={"members": members})
    assert response.status_code == 422
    assert await _counts(api) == (0, 0)


async def test_only_admins_may_import(api: Api) -> None:
    for role in ("staff", "pos", "partner"):
        response = await api.call("POST", "/members/batch", role=role, json={"members": [ANNA]})
        assert response.status_code == 403
    assert await _counts(api) == (0, 0)


async def test_points_written_with_other_digits_are_refused_per_row(api: Api) -> None:
    """Schemathesis: ``"opening_points": "²"`` passed ``str.isdigit`` and ``int`` raised (500);
    ``"١"`` (an Arabic-Indic one) was read as 1 point."""
    rows = [{"external_id": f"d-{n}", "opening_points": text} for n, text in enumerate("²١")]
    for dry_run in (True, False):
        response = await api.call(
            "POST", "/members/batch", json={"members": rows, "dry_run": dry_run}
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [i["status"] for i in items] == ["refused", "refused"]
        assert {e["field"] for i in items for e in i["errors"]} == {"opening_points"}
    assert await _counts(api) == (0, 0)
