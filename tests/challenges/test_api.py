"""A member's challenges and badges through the API: ``GET /members/{id}`` gains
``challenges`` and ``badges``, ``GET /members/{id}/challenges`` adds the completions, and the
export holds the new tables."""

from __future__ import annotations

from patron.kit.time import utcnow
from tests.api.conftest import Api
from tests.challenges.setup import buy, dispatch, program_text


async def test_the_member_shows_progress_badges_and_completions(api: Api) -> None:
    response = await api.call("PUT", "/program", content=program_text().encode())
    assert response.status_code == 200, response.text
    enrolled = await api.call("POST", "/members", json={"external_id": "ann", "language": "pl"})
    member_id = enrolled.json()["id"]
    before = await api.call("GET", f"/members/{member_id}")
    assert before.status_code == 200
    assert [c["key"] for c in before.json()["challenges"]] == [
        "coffee-month",
        "weekly",
        "critic",
        "sharer",
    ]
    assert before.json()["badges"] == []

    now = utcnow()
    for n in range(5):
        await buy(api.database, member_id, f"p{n}", now)
    await dispatch(api.database, now)
    got = (await api.call("GET", f"/members/{member_id}")).json()
    coffee = got["challenges"][0]
    assert (coffee["goal"], coffee["of"], coffee["period"]) == ("count", "purchase", "month")
    assert (coffee["count"], coffee["target"], coffee["points"]) == (5, 5, 150)
    assert coffee["completed_at"] is not None
    assert coffee["period_key"] == f"{now.year:04d}-{now.month:02d}"
    weekly = got["challenges"][1]
    assert (weekly["goal"], weekly["count"], weekly["target"]) == ("streak", 1, 4)
    assert weekly["last_week"] is not None
    assert weekly["completed_at"] is None
    assert got["badges"][0]["key"] == "coffee-lover"
    assert got["badges"][0]["name"] == "Kawosz"  # the member's language

    history = await api.call("GET", f"/members/{member_id}/challenges")
    assert history.status_code == 200
    body = history.json()
    assert body["challenges"] == got["challenges"]
    assert body["badges"] == got["badges"]
    [completion] = body["completions"]
    assert (completion["challenge_key"], completion["points"]) == ("coffee-month", 150)
    ledger = (await api.call("GET", f"/members/{member_id}/ledger")).json()["items"]
    [entry] = [e for e in ledger if e["source_type"] == "challenge"]
    assert (entry["id"], entry["amount"]) == (completion["entry_id"], 150)

    export = (await api.call("GET", f"/members/{member_id}/export")).json()
    assert [row["badge_key"] for row in export["badges"]] == ["coffee-lover"]
    assert len(export["challenge_steps"]) == 5 + 1  # five purchases, one week of the streak
    missing = await api.call("GET", "/members/999999/challenges")
    assert missing.status_code == 404
