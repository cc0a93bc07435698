"""Campaigns through the API: the example program applied with ``PUT /program``, purchases
that name each campaign that applied in their breakdown (through the direct route and its
commit groups), the checkout quote, ``GET /campaigns``, ``/campaigns/{key}`` and ``/stats``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from patron.api import deps
from tests.api.conftest import Api
from tests.api.test_purchases import enrol, purchase
from tests.conftest import REPO

EXAMPLE = (REPO / "examples" / "campaigns-program.yaml").read_text()
TUESDAY = "2026-12-01T10:00:00Z"  # 13:00 in Moscow, inside december-bonus's window
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

BUDGETED = """
  - key: first-ten
    name: {en: "First ten", ru: "Первые десять"}
    window: {start: "2026-12-01", end: "2026-12-31"}
    effect: {bonus_points: 50}
    budget: {points: 500}
"""


async def _apply(api: Api, text: str) -> None:
    response = await api.call("PUT", "/program", content=text.encode())
    assert response.status_code == 200, response.text


def _at_now(api: Api) -> None:
    api.client._transport.app.dependency_overrides[deps.now] = lambda: NOW  # type: ignore[attr-defined]


def _rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["rule_id"]: row for row in body["breakdown"] if row["rule_id"].startswith("c")}


async def test_a_purchase_names_each_campaign_that_applied(api: Api) -> None:
    await _apply(api, EXAMPLE)
    await enrol(api, "ann")
    tea = [("t1", "tea", 1, "4000.00")]
    quote = await api.call(
        "POST",
        "/checkout/quote",
        role="pos",
        json={
            "member_external_id": "ann",
            "currency": "RUB",
            "occurred_at": TUESDAY,
            "lines": [{"sku": "t1", "category": "tea", "quantity": 1, "unit_price": "4000.00"}],
        },
    )
    assert quote.status_code == 200, quote.text
    assert _rows(quote.json())["campaign:december-bonus"]["points"] == 200
    # 400 base points + 200 of december-bonus (order of 4,000.00 >= 3,000.00)
    assert quote.json()["points_earned"] == 600

    first = await api.call("POST", "/purchases", role="pos", json=purchase("p1", "ann", tea))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["points_earned"] == 600
    assert _rows(body)["campaign:december-bonus"] == {
        "rule_id": "campaign:december-bonus",
        "name": "Декабрьский бонус",  # the program's default language
        "applied": True,
        "reason": None,
        "effect": "bonus_points",
        "value": "200",
        "points": 200,
    }
    assert sum(row["points"] for row in body["breakdown"]) == body["points_earned"]
    # once a week per member: the second purchase of the week is held back, with the reason
    second = await api.call("POST", "/purchases", role="pos", json=purchase("p2", "ann", tea))
    row = _rows(second.json())["campaign:december-bonus"]
    assert (row["applied"], row["points"]) == (False, 0)
    assert row["reason"] == "limit reached: already applied 1 of 1 times per week"
    assert second.json()["points_earned"] == 400


async def test_a_budget_holds_through_the_direct_route(api: Api) -> None:
    text = EXAMPLE.split("\ncampaigns:")[0] + "\ncampaigns:\n" + BUDGETED
    await _apply(api, text)
    members = [f"m-{n}" for n in range(20)]
    for member in members:
        await enrol(api, member)
    tea = [("t1", "tea", 1, "100.00")]
    answers = await asyncio.gather(
        *(
            api.call("POST", "/purchases", role="pos", json=purchase(f"b-{m}", m, tea))
            for m in members
        )
    )
    assert all(answer.status_code == 201 for answer in answers)
    applied = [a for a in answers if _rows(a.json())["campaign:first-ten"]["applied"]]
    assert len(applied) == 10

    _at_now(api)
    stats = await api.call("GET", "/campaigns/first-ten/stats", role="staff")
    assert stats.status_code == 200, stats.text
    assert stats.json() == {
        "key": "first-ten",
        "status": "active",
        "participants": 10,
        "applications": 10,
        "points_spent": 500,
        "budget_points": 500,
        "budget_left": 0,
        "usage_limit": None,
        "money_spent": "0.00",
        "revenue": "1000.00",
        "currency": "RUB",
        "budget_money": None,
        "budget_money_spent": None,
        "budget_money_left": None,
        "points_given_back": 0,
        "points_net": 500,
        "money_given_back": "0.00",
        "uses_given_back": 0,
    }
    shown = await api.call("GET", "/campaigns/first-ten", role="pos")
    assert shown.json()["budget"] == {
        "points": 500,
        "spent": 500,
        "left": 0,
        "money": None,
        "money_spent": None,
        "money_left": None,
    }
    assert shown.json()["uses"] == 10

    # a whole return gives the campaign's 50 points and its use back (a retry: nothing more),
    # and the next purchase finds them in the budget
    back = f"/purchases/{applied[0].json()['id']}/returns"
    for status in (201, 200):
        answer = await api.call("POST", back, json={"external_id": "back"})
        assert answer.status_code == status, answer.text
    stats = await api.call("GET", "/campaigns/first-ten/stats", role="staff")
    given = {k: stats.json()[k] for k in ("points_given_back", "points_net", "uses_given_back")}
    assert given == {"points_given_back": 50, "points_net": 450, "uses_given_back": 1}
    assert (stats.json()["budget_left"], stats.json()["applications"]) == (50, 10)
    shown = await api.call("GET", "/campaigns/first-ten", role="pos")
    assert (shown.json()["budget"]["spent"], shown.json()["uses"]) == (450, 9)
    refused = next(m for m, a in zip(members, answers, strict=True) if a not in applied)
    again = await api.call("POST", "/purchases", role="pos", json=purchase("late", refused, tea))
    assert _rows(again.json())["campaign:first-ten"]["applied"] is True


async def test_the_list_shows_each_campaign_with_its_status_now(api: Api) -> None:
    await _apply(api, EXAMPLE)
    _at_now(api)
    listed = await api.call("GET", "/campaigns", role="staff")
    assert listed.status_code == 200, listed.text
    assert [(c["key"], c["status"], c["written_status"]) for c in listed.json()] == [
        ("december-bonus", "active", "active"),
        ("tea-weekends", "active", "active"),
        ("new-year-eve", "scheduled", "active"),
        ("grand-opening", "paused", "paused"),
        ("welcome", "active", "active"),
        ("birthday", "active", "active"),
        ("loyal-year", "active", "active"),
        ("monday-morning", "scheduled", "active"),
        ("review-thanks", "active", "active"),
        ("survey-thanks", "active", "active"),
        ("social-share", "active", "active"),
        ("app-install", "active", "active"),
        ("refer-a-friend", "scheduled", "active"),
        ("app-cashback", "active", "active"),
        ("lucky-hundredth", "scheduled", "active"),
        ("may-raffle", "scheduled", "active"),
    ]
    seeded = {c["key"]: (c["seed_hash"], c["seed"]) for c in listed.json()}
    # PUT /program committed the seeds of the prize and the raffle; neither seed is shown yet
    assert len(seeded["lucky-hundredth"][0]) == 64
    assert seeded["lucky-hundredth"][1] is None
    assert seeded["may-raffle"][1] is None
    assert seeded["december-bonus"] == (None, None)
    triggers = {c["key"]: (c["trigger"], c["event"]) for c in listed.json()}
    assert triggers["birthday"] == ("birthday", None)
    assert triggers["social-share"] == ("event", "social_share")
    birthday = (await api.call("GET", "/campaigns/birthday")).json()
    assert birthday["occasion"] == {"days": 3, "birth_date_unchanged_days": 30}
    one = (await api.call("GET", "/campaigns/tea-weekends", role="pos")).json()
    assert one["window"] == {
        "start": "2026-12-01 00:00",
        "end": "2027-02-28 23:59",
        "timezone": "Europe/Moscow",
        "starts_at": "2026-11-30T21:00:00Z",
        "ends_at": "2027-02-28T20:59:00Z",
    }
    assert one["effect"] == {"type": "multiply_lines", "value": "3"}
    assert one["conditions"] == {"line_category_in": ["tea"], "weekday_in": ["sat", "sun"]}
    assert one["audience_tiers"] == ["silver", "gold"]
    assert one["stacking"] == "best_of"


async def test_an_unknown_campaign_is_a_404_with_a_stable_code(api: Api) -> None:
    await _apply(api, EXAMPLE)
    for path in ("/campaigns/nope", "/campaigns/nope/stats"):
        response = await api.call("GET", path, role="staff")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "campaign_not_found"
    bad = await api.call("GET", "/campaigns/Not%20A%20Key", role="staff")
    assert bad.status_code == 422


SPRING = {
    "key": "spring-bonus",
    "name": {"en": "Spring bonus", "pl": "Wiosenny bonus"},
    "window": {"start": "2027-03-01", "end": "2027-03-31"},
    "when": {"order_total_gte": "1000.00"},
    "effect": {"bonus_points": 100},
    "budget": {"points": 10000},
}


async def test_post_adds_a_campaign_as_a_new_program_version(api: Api) -> None:
    await _apply(api, EXAMPLE)
    _at_now(api)
    created = await api.call("POST", "/campaigns", json=SPRING)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["program"]["status"] == "updated"
    assert body["program"]["version"] == body["program"]["previous_version"] + 1
    assert body["program"]["changes"][0].startswith("campaigns[spring-bonus]: added")
    assert body["campaign"]["status"] == "scheduled"
    assert body["campaign"]["budget"] == {
        "points": 10000,
        "spent": 0,
        "left": 10000,
        "money": None,
        "money_spent": None,
        "money_left": None,
    }
    # the new version's source keeps the rest of the file, comments included
    source = (await api.call("GET", "/program")).json()["source_yaml"]
    assert source.startswith("# The loyalty program described in our source material")
    assert "# a budget of 500,000 points." not in source  # the section is written anew
    assert "key: spring-bonus" in source
    again = await api.call("POST", "/campaigns", json=SPRING)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "campaign_exists"


async def test_a_bad_campaign_is_refused_with_every_problem_and_changes_nothing(api: Api) -> None:
    await _apply(api, EXAMPLE)
    before = (await api.call("GET", "/program")).json()["version"]
    bad = {**SPRING, "window": {"start": "2027-03-31", "end": "2027-03-01"}, "stacking": "x"}
    refused = await api.call("POST", "/campaigns", json=bad)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "program_invalid"
    assert {d["path"] for d in error["details"]} == {
        "campaigns[16].window.end",
        "campaigns[16].stacking",
    }
    assert (await api.call("GET", "/program")).json()["version"] == before
    keyless = await api.call("POST", "/campaigns", json={"name": {"en": "x"}})
    assert keyless.status_code == 422
    assert keyless.json()["error"]["code"] == "invalid_input"


async def test_patch_pauses_resumes_and_edits_by_merge_patch(api: Api) -> None:
    await _apply(api, EXAMPLE)
    _at_now(api)
    paused = await api.call("PATCH", "/campaigns/december-bonus", json={"status": "paused"})
    assert paused.status_code == 200, paused.text
    assert paused.json()["campaign"]["status"] == "paused"
    assert paused.json()["program"]["changes"] == [
        "campaigns[december-bonus].status: active -> paused"
    ]
    # a paused campaign does not apply
    await enrol(api, "ann")
    tea = [("t1", "tea", 1, "4000.00")]
    bought = await api.call("POST", "/purchases", role="pos", json=purchase("p1", "ann", tea))
    assert "campaign:december-bonus" not in _rows(bought.json())
    resumed = await api.call(
        "PATCH",
        "/campaigns/december-bonus",
        json={"status": None, "budget": {"points": 600000}, "limits": {"total": None}},
    )
    assert resumed.status_code == 200, resumed.text
    assert sorted(resumed.json()["program"]["changes"]) == [
        "campaigns[december-bonus].budget.points: 500000 -> 600000",
        "campaigns[december-bonus].limits.total: 2000 -> null",
        "campaigns[december-bonus].status: paused -> active",
    ]
    same = await api.call("PATCH", "/campaigns/december-bonus", json={})
    assert same.json()["program"]["status"] == "unchanged"
    renamed = await api.call("PATCH", "/campaigns/december-bonus", json={"key": "other"})
    assert renamed.status_code == 422
    assert renamed.json()["error"] == {
        "code": "invalid_input",
        "message": "a campaign's key cannot change",
        "field": "key",
        "params": {},
    }
    missing = await api.call("PATCH", "/campaigns/nope", json={"status": "paused"})
    assert missing.status_code == 404


async def test_a_nul_character_is_refused_not_stored(api: Api) -> None:
    """PostgreSQL cannot hold a NUL in the program's document: 422, never 500."""
    await _apply(api, EXAMPLE)
    refused = await api.call("POST", "/campaigns", json={**SPRING, "name": {"en": "a\u0000b"}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["path"] == "campaigns[16].name.en"
    assert refused.json()["error"]["details"][0]["message"] == "must not contain a NUL character"
    written = EXAMPLE.replace('en: "December bonus"', 'en: "Dec\\0ember"')
    put = await api.call("PUT", "/program", content=written.encode())
    assert put.status_code == 422, put.text


async def test_the_quote_hints_at_campaigns_that_almost_applied(api: Api) -> None:
    await _apply(api, EXAMPLE)
    await enrol(api, "ann")
    cart = {
        "member_external_id": "ann",
        "currency": "RUB",
        "occurred_at": TUESDAY,
        "lines": [{"sku": "t1", "category": "tea", "quantity": 1, "unit_price": "2500.00"}],
    }
    quote = await api.call("POST", "/checkout/quote", role="pos", json=cart)
    assert quote.status_code == 200, quote.text
    hinted = [h for h in quote.json()["hints"] if h["rule_id"] == "campaign:december-bonus"]
    assert hinted == [
        {
            "kind": "spend_more",
            "code": "spend_more",
            "params": {"amount": "500.00", "currency": "RUB", "rule_name": "Декабрьский бонус"},
            "rule_id": "campaign:december-bonus",
            "rule_name": "Декабрьский бонус",
            "effect": "bonus_points",
            "value": "200",
            "missing_amount": "500.00",
            "categories": [],
            "skus": [],
            "message": "spend 500.00 RUB more for Декабрьский бонус",
        }
    ]
    # once the member has used the week's application, the quote no longer hints at it
    tea = [("t1", "tea", 1, "4000.00")]
    bought = await api.call("POST", "/purchases", role="pos", json=purchase("p1", "ann", tea))
    assert bought.status_code == 201
    again = await api.call("POST", "/checkout/quote", role="pos", json=cart)
    assert all(h["rule_id"] != "campaign:december-bonus" for h in again.json()["hints"])


async def test_a_raffle_shows_its_entries_and_seed_hash_but_not_its_seed(api: Api) -> None:
    await _apply(api, EXAMPLE)
    raffle = await api.call("GET", "/campaigns/may-raffle/raffle", role="staff")
    assert raffle.status_code == 200, raffle.text
    body = raffle.json()
    assert (body["entries"], body["participants"], body["drawn"]) == (0, 0, False)
    assert body["winners_wanted"] == 3
    assert len(body["seed_hash"]) == 64
    assert body["seed"] is None
    assert body["winners"] == []
    shown = (await api.call("GET", "/campaigns/may-raffle")).json()
    assert shown["seed_hash"] == body["seed_hash"]
    assert shown["raffle"] == {"per_amount": "500.00", "winners": 3}
    not_raffle = await api.call("GET", "/campaigns/december-bonus/raffle")
    assert not_raffle.status_code == 422
    assert (not_raffle.json()["error"]["code"], not_raffle.json()["error"]["field"]) == (
        "not_a_raffle",
        "key",
    )
    missing = await api.call("GET", "/campaigns/nope/raffle")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "campaign_not_found"
