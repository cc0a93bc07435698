"""Parts of the example tour (``test_example_tour.py``) beyond the campaigns on purchases and
events: the `schedule` campaign run by the daily job, the challenge and its badge as
``patron members show`` and the API show them, and the coalition partner from its own key to
the settlement. Each returns what it exercised, for the tour's check that every campaign,
challenge and partner of the example was."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import Api
from tests.campaigns.tour import buy, campaign_points, daily, enrol, ledger, patron, pin, worker

PARTNER = "cafe-nord"


async def monday_morning(api: Api) -> set[str]:
    """`monday-morning`: 50 points to every Gold member each Monday at 09:00 in Moscow (the
    daily job's step `schedule_campaigns`), once per occurrence."""
    # gus becomes Gold on 1 January 2027 (13:00 in Moscow, no campaign then): 150,000.00
    # earns 15,000 points and 500 more for the big basket
    pin(api, "2027-01-01T10:01:00+00:00")
    gus = await enrol(api, "gus")
    await buy(api, "g-1", "gus", "150000.00", "2027-01-01T10:00:00Z")
    member = await api.call("GET", f"/members/{gus}")
    assert (member.json()["tier"], member.json()["points"]["pending"]) == ("gold", 15500)
    # Monday 4 January 08:59 in Moscow: the first occurrence of the window has not come yet
    early = await daily(api, "2027-01-04T05:59:00+00:00")
    assert early["schedule_campaigns"]["default"]["applied"] == 0
    due = await daily(api, "2027-01-04T06:30:00+00:00")
    assert due["schedule_campaigns"]["default"] == {"members_due": 1, "applied": 1, "points": 50}
    # the job again the same day and the next: the occurrence is credited once
    for moment in ("2027-01-04T06:31:00+00:00", "2027-01-05T09:00:00+00:00"):
        again = await daily(api, moment)
        assert again["schedule_campaigns"]["default"]["applied"] == 0
    assert await campaign_points(api, gus) == [("monday-morning", 50)]
    return {"monday-morning"}


async def tea_challenge(api: Api) -> set[str]:
    """`tea-month`: tea three times in January completes the challenge (150 points, the
    `tea-lover` badge), as ``patron members show`` and ``GET /members/{id}`` show it."""
    pin(api, "2027-01-05T09:00:00+00:00")
    cleo = await enrol(api, "cleo")
    bills = []
    for day in (5, 6, 7):  # 300.00 of tea each: 30 points, and a step of the challenge
        moment = f"2027-01-0{day}T10:00:00Z"
        pin(api, f"2027-01-0{day}T10:01:00+00:00")
        bought = await buy(api, f"tea-{day}", "cleo", "300.00", moment)
        assert bought["points_earned"] == 30
        bills.append(str(bought["id"]))
        if day == 6:  # two of three: the worker counted them, nothing is completed yet
            await worker(api, "2027-01-06T10:05:00+00:00")
            shown = await patron(
                api, "members", "show", "--external-id", "cleo", "--now", "2027-01-06T12:00:00Z"
            )
            assert "  tea-month  Чай три раза за месяц: 2 of 3 (2027-01), badge tea-lover" in (
                shown.stdout.splitlines()
            )
    await worker(api, "2027-01-07T10:05:00+00:00")
    pin(api, "2027-01-07T12:00:00+00:00")
    member = await api.call("GET", f"/members/{cleo}")
    assert member.status_code == 200, member.text
    body = member.json()
    [tea] = body["challenges"]
    assert (tea["key"], tea["period_key"], tea["count"], tea["target"], tea["points"]) == (
        "tea-month",
        "2027-01",
        3,
        3,
        150,
    )
    assert tea["completed_at"] is not None
    [badge] = body["badges"]
    assert (badge["key"], badge["name"], badge["challenge_key"]) == (
        "tea-lover",
        "Ценитель чая",  # the program's default language: cleo gave none
        "tea-month",
    )
    assert (await ledger(api, cleo))[-1] == ("challenge", "tea-month", 150)
    history = await api.call("GET", f"/members/{cleo}/challenges")
    [completion] = history.json()["completions"]
    assert (completion["challenge_key"], completion["period_key"]) == ("tea-month", "2027-01")

    # the operator's view: `patron members show` is the API's member, with the rest
    shown = await patron(
        api, "members", "show", "--external-id", "cleo", "--now", "2027-01-07T12:00:00Z", "--json"
    )
    document = json.loads(shown.stdout)
    assert document["completions"] == history.json()["completions"]
    assert document["wallet"] == {"currency": "RUB", "balance": "0.00"}
    # newest first: the welcome came with the worker's round after the second purchase
    assert [(e["source_type"], e["source_id"], e["amount"]) for e in document["entries"]] == [
        ("challenge", "tea-month", 150),
        ("purchase", bills[2], 30),
        ("campaign", "welcome", 100),
        ("purchase", bills[1], 30),
        ("purchase", bills[0], 30),
    ]
    assert {k: v for k, v in document.items() if k not in ("wallet", "completions", "entries")} == (
        body
    )
    text = await patron(api, "members", "show", str(cleo), "--now", "2027-01-07T12:00:00Z")
    lines = text.stdout.splitlines()
    assert f"  tea-lover  Ценитель чая (challenge tea-month), {tea['completed_at']}" in [
        line.replace("+00:00", "Z") for line in lines
    ]
    assert any(
        line.startswith("  tea-month  Чай три раза за месяц: 3 of 3 (2027-01), completed ")
        and line.endswith(", 150 points, badge tea-lover")
        for line in lines
    ), text.stdout
    return {"tea-month"}


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _with(api: Api, key: str, method: str, path: str, **kwargs: Any) -> Any:
    return await api.client.request(method, f"/api/v1{path}", headers=_as(key), **kwargs)


async def coalition(api: Api, ann: int) -> set[str]:
    """Café Nord with its own key (made by the CLI): ann earns there, pays with points there
    and returns half of the purchase; the February settlement of the CLI and of the API are
    the same and equal the ledger's entries."""
    made = await patron(
        api, "keys", "create", "--role", "partner", "--partner", PARTNER, "--name", "Nord till"
    )
    key = made.stdout.strip().splitlines()[-1]
    assert [p["id"] for p in (await _with(api, key, "GET", "/partners")).json()] == [PARTNER]
    refused = await _with(api, key, "GET", f"/members/{ann}")
    assert refused.status_code == 403  # a partner's key reaches its partner's paths alone

    # earn: 125.50 at 2 points per whole 10.00 is 24 points, pending as any earning
    pin(api, "2027-02-10T09:05:00+00:00")
    bill = {"external_id": "cn-1", "member_external_id": "ann", "amount": "125.50"}
    path = f"/partners/{PARTNER}/purchases"
    earned = await _with(api, key, "POST", path, json={**bill, "occurred_at": "2027-02-10T09:00Z"})
    assert earned.status_code == 201, earned.text
    assert (earned.json()["points"], earned.json()["pending_until"]) == (24, "2027-02-24T09:00:00Z")
    # pay with points: 40 of ann's available points, once (a retry answers the first payment)
    pin(api, "2027-02-12T18:00:00+00:00")
    pay = {"external_id": "cn-pay-1", "member_external_id": "ann", "points": 40}
    paid = await _with(api, key, "POST", f"/partners/{PARTNER}/payments", json=pay)
    assert paid.status_code == 201, paid.text
    retried = await _with(api, key, "POST", f"/partners/{PARTNER}/payments", json=pay)
    assert (retried.status_code, retried.json()) == (200, paid.json())
    # a return of half the bill takes back half the points (proportional)
    pin(api, "2027-02-14T11:00:00+00:00")
    back = {"external_id": "cn-ret-1", "amount": "62.75"}
    returned = await _with(api, key, "POST", f"{path}/cn-1/returns", json=back)
    assert returned.status_code == 201, returned.text
    purchase_id = earned.json()["purchase_id"]
    entries = await ledger(api, ann)
    assert entries[-3:] == [
        ("partner_earn", f"{PARTNER}:{purchase_id}", 24),
        ("partner_burn", f"{PARTNER}:cn-pay-1", -40),
        ("return", f"{purchase_id}:cn-ret-1", -12),
    ]

    # the settlement of February: by the CLI (all partners) and by the partner's own key
    window = ("--from", "2027-02-01", "--to", "2027-03-01")
    settled = await patron(api, "partners", "settlement", *window, "--json")
    [row] = json.loads(settled.stdout)
    query = {"from": "2027-02-01T00:00:00Z", "to": "2027-03-01T00:00:00Z"}
    by_api = await _with(api, key, "GET", f"/partners/{PARTNER}/settlement", params=query)
    assert (by_api.status_code, by_api.json()) == (200, row)
    # the ledger's own figures: 24 issued, 12 returned, 40 redeemed; 12 x 0.05 = 0.60 owed by
    # the café, 40 x 0.0375 = 1.50 owed to it
    issued = sum(points for source, _, points in entries if source == "partner_earn")
    redeemed = -sum(points for source, _, points in entries if source == "partner_burn")
    assert (row["points_issued"], row["points_returned"], row["points_redeemed"]) == (
        issued,
        12,
        redeemed,
    )
    assert (row["owed_by_partner"], row["owed_to_partner"], row["net"]) == (60, 150, -90)
    text = await patron(api, "partners", "settlement", *window)
    assert f"{PARTNER}  issued 24  returned 12  redeemed 40  partner owes 0.60" in text.stdout
    return {PARTNER}
