"""``POST /purchases/batch`` under concurrency: batches from several tills at once (and single
purchases beside them) must never deadlock, and each item keeps the status it would have had
alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from patron.ledger.verify import verify
from patron.purchases.models import Purchase
from tests.api.conftest import Api
from tests.api.test_purchases import enrol, purchase

MEMBERS = 12


def _bought(external_id: str, member: str | None, rubles: int) -> dict[str, Any]:
    return purchase(external_id, member, [("tea-1", "tea", 1, f"{rubles}.00")])


async def _send_batch(api: Api, bodies: list[dict[str, Any]]) -> list[int]:
    response = await api.call("POST", "/purchases/batch", json={"purchases": bodies}, role="pos")
    assert response.status_code == 200, response.text
    return [item["status"] for item in response.json()["results"]]


async def _lifetime(api: Api, member_id: int) -> int:
    response = await api.call("GET", f"/members/{member_id}")
    return int(response.json()["points"]["lifetime_earned"])


async def _purchase_count(api: Api) -> int:
    async with api.database.read() as session:
        return (await session.execute(select(func.count()).select_from(Purchase))).scalar_one()


async def test_overlapping_batches_sent_at_once_all_succeed(api: Api) -> None:
    """Four tills send batches over the same members in opposite orders (each batch locks
    a member the next one wants): before the fix PostgreSQL broke the cycles with ``deadlock
    detected`` and the batches answered 500."""
    members = [await enrol(api, f"t-{n}") for n in range(MEMBERS)]
    orders = [list(range(MEMBERS)), list(reversed(range(MEMBERS)))] * 2
    batches = [
        [_bought(f"till-{till}-{n}", f"t-{n}", 100 + n) for n in order]
        for till, order in enumerate(orders)
    ]
    answers = await asyncio.gather(*(_send_batch(api, bodies) for bodies in batches))
    assert answers == [[201] * MEMBERS] * 4
    for n, member in enumerate(members):
        assert await _lifetime(api, member["id"]) == 4 * ((100 + n) // 10)
    assert await _purchase_count(api) == 4 * MEMBERS
    async with api.database.read() as session:
        assert await verify(session, now=datetime.now(UTC)) == []


async def test_batches_and_single_purchases_at_once_all_succeed(api: Api) -> None:
    """Single purchases (group commit) and batches lock the same members in one order."""
    members = [await enrol(api, f"s-{n}") for n in range(MEMBERS)]
    batch = [_bought(f"batch-{n}", f"s-{n}", 200) for n in reversed(range(MEMBERS))]
    singles = [_bought(f"single-{n}", f"s-{n}", 300) for n in range(MEMBERS)]

    async def send_single(body: dict[str, Any]) -> int:
        return (await api.call("POST", "/purchases", json=body, role="pos")).status_code

    answers = await asyncio.gather(
        _send_batch(api, batch),
        _send_batch(api, list(reversed(batch))),
        *(send_single(body) for body in singles),
    )
    # the same purchases in both batches: each recorded by one (201), a retry in the other
    pairs = [sorted([answers[0][MEMBERS - 1 - n], answers[1][n]]) for n in range(MEMBERS)]
    assert pairs == [[200, 201]] * MEMBERS
    assert answers[2:] == [201] * MEMBERS
    for member in members:
        assert await _lifetime(api, member["id"]) == 20 + 30
    assert await _purchase_count(api) == 2 * MEMBERS


async def test_items_keep_the_status_they_would_have_had_alone(api: Api) -> None:
    """Within concurrent batches: the same member twice, the same purchase twice (a retry,
    200), the same external id with another body (409), no member, an unknown member."""
    member = await enrol(api, "same-1")
    await enrol(api, "same-2")
    first = _bought("dup-1", "same-1", 100)
    items = [
        first,
        _bought("dup-2", "same-1", 150),
        first,
        _bought("dup-1", "same-1", 999),
        _bought("anon-1", None, 100),
        _bought("who-1", "nobody", 100),
        _bought("dup-3", "same-2", 100),
    ]
    other = [_bought(f"other-{n}", "same-2", 100) for n in range(3)]
    other += [_bought(f"other-{n}", "same-1", 100) for n in range(3, 6)]
    answers = await asyncio.gather(_send_batch(api, items), _send_batch(api, other))
    assert answers == [[201, 201, 200, 409, 201, 404, 201], [201] * 6]
    assert await _lifetime(api, member["id"]) == 10 + 15 + 3 * 10
    assert await _purchase_count(api) == 4 + 6


async def test_batches_racing_on_the_same_purchases_without_members(api: Api) -> None:
    """Purchases without a member lock only their ``external_id``: two batches inserting the
    same two in opposite orders wait on each other in a cycle that no member order prevents.
    PostgreSQL rolls the loser back; it runs again whole, after the winner's last insert, and
    finds the winner's purchases (200). Three such pairs at once."""
    pairs = [[_bought(f"anon-{k}-{n}", None, 100) for n in range(2)] for k in range(3)]
    answers = await asyncio.gather(
        *(_send_batch(api, bodies) for bodies in pairs),
        *(_send_batch(api, list(reversed(bodies))) for bodies in pairs),
    )
    for k in range(3):
        first, second = answers[k], list(reversed(answers[3 + k]))
        assert [sorted(statuses) for statuses in zip(first, second, strict=True)] == [
            [200, 201],
            [200, 201],
        ]
    assert await _purchase_count(api) == 6
