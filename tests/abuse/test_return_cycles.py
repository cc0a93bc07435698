"""Buy-earn-return cycles (docs/security.md, "Abuse controls"): a member with K full returns
of purchases that earned points within D days is flagged, with a record of the reason, the
event ``members.flagged``, ``flagged_at`` and ``flags`` on the member and the list
``GET /members?flagged=true``; blocked too when the program says so. The flag itself changes
no balance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from patron.kit.outbox import OutboxEvent
from patron.purchases.models import PurchaseReturn
from tests.abuse.snapshot import snapshot
from tests.abuse.test_velocity import program, tea
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.api.test_purchases import enrol

CYCLES = "  return_cycles: {returns: 3, days: 30}\n"
FULL_DETAILS = {
    "full_returns": 3,
    "partial_returns": 0,
    "days": 30,
    "threshold": 3,
    "min_returned_percent": 100,  # the default: only full returns count
}


async def _buy_and_return(api: Api, external_id: str, member: str = "c-1", **body: Any) -> int:
    bought = await api.call("POST", "/purchases", json=tea(external_id, member))
    assert bought.status_code == 201, bought.text
    purchase_id = bought.json()["id"]
    returned = await api.call(
        "POST",
        f"/purchases/{purchase_id}/returns",
        json={"external_id": f"ret-{external_id}", **body},
    )
    assert returned.status_code == 201, returned.text
    return int(purchase_id)


async def _flag_events(api: Api) -> list[dict[str, Any]]:
    async with api.database.read() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "members.flagged")
        )
        return [dict(row.payload) for row in rows]


async def test_the_third_full_return_flags_the_member_and_changes_no_balance(api: Api) -> None:
    await api.call("PUT", "/program", content=program(CYCLES))
    member = await enrol(api, "c-1")
    path = f"/members/{member['id']}"
    await _buy_and_return(api, "b-1")
    await _buy_and_return(api, "b-2")
    # a partial return is no cycle
    partial_purchase = await api.call("POST", "/purchases", json=tea("b-3", "c-1"))
    assert partial_purchase.status_code == 201, partial_purchase.text
    partial = partial_purchase.json()["id"]
    await api.call(
        "POST", f"/purchases/{partial}/returns", json={"external_id": "r", "amount": "100.00"}
    )
    shown = (await api.call("GET", path)).json()
    assert (shown["flagged_at"], shown["flags"]) == (None, [])
    assert await _flag_events(api) == []
    flagged_list = await api.call("GET", "/members", params={"flagged": "true"})
    assert flagged_list.json()["items"] == []

    # the third full return: compare what the flag wrote with a return that flags nothing
    bought = await api.call("POST", "/purchases", json=tea("b-4", "c-1"))
    before = await snapshot(api.database)
    third = await api.call(
        "POST", f"/purchases/{bought.json()['id']}/returns", json={"external_id": "ret-b-4"}
    )
    assert third.status_code == 201
    after = await snapshot(api.database)
    new_flags = [row for row in after["member_flags"] if row not in before["member_flags"]]
    assert len(new_flags) == 1
    shown = (await api.call("GET", path)).json()
    assert shown["status"] == "active"  # not blocked: the program did not ask for it
    assert shown["flagged_at"] is not None
    [flag] = shown["flags"]
    assert flag["reason"] == "return_cycles"
    assert flag["details"] == FULL_DETAILS
    assert (flag["blocked"], flag["cleared_at"]) == (False, None)
    assert await _flag_events(api) == [
        {
            "member_id": member["id"],
            "flag_id": flag["id"],
            "reason": "return_cycles",
            "details": FULL_DETAILS,
            "blocked": False,
        }
    ]
    # the points are what the returns left, the flag took none
    assert shown["points"]["available"] + shown["points"]["pending"] == 90  # b-3 kept 90 of 100
    for table in ("ledger_entries", "lots", "accounts", "lot_movements"):
        written = [row for row in after[table] if row not in before[table]]
        assert all("return" in str(row) or table != "ledger_entries" for row in written)
    listed = (await api.call("GET", "/members", params={"flagged": "true"})).json()["items"]
    assert [m["id"] for m in listed] == [member["id"]]
    unflagged = (await api.call("GET", "/members", params={"flagged": "false"})).json()
    assert member["id"] not in [m["id"] for m in unflagged["items"]]
    # a till is not told
    till = await api.call("GET", path, role="pos", headers={"X-Patron-Member-External-Id": "c-1"})
    assert (till.json()["flagged_at"], till.json()["flags"]) == (None, [])

    # flagged once: a fourth cycle records no second flag while the first is open
    await _buy_and_return(api, "b-5")
    assert len(await _flag_events(api)) == 1
    # an admin clears it; the record stays, and the next cycle flags again
    cleared = await api.call("POST", f"{path}/unflag")
    assert cleared.status_code == 200
    assert (cleared.json()["flagged_at"], cleared.json()["flags"]) == (None, [])
    assert (await api.call("POST", f"{path}/unflag", role="staff")).status_code == 403
    await _buy_and_return(api, "b-6")
    assert len(await _flag_events(api)) == 2
    assert len((await snapshot(api.database))["member_flags"]) == 2


async def test_returns_older_than_the_window_do_not_count(api: Api) -> None:
    await api.call("PUT", "/program", content=program("  return_cycles: {returns: 2, days: 1}\n"))
    await enrol(api, "c-1")
    await _buy_and_return(api, "old")
    async with api.database.write() as session:  # the first return was two days ago
        two_days_ago = datetime.now(UTC) - timedelta(days=2)
        await session.execute(update(PurchaseReturn).values(created_at=two_days_ago))
    await _buy_and_return(api, "new")
    assert await _flag_events(api) == []
    await _buy_and_return(api, "newer")
    assert len(await _flag_events(api)) == 1


async def test_the_program_may_block_a_flagged_member(api: Api) -> None:
    await api.call(
        "PUT", "/program", content=program("  return_cycles: {returns: 2, days: 30, block: true}\n")
    )
    member = await enrol(api, "c-1")
    await _buy_and_return(api, "b-1")
    await _buy_and_return(api, "b-2")
    shown = (await api.call("GET", f"/members/{member['id']}")).json()
    assert (shown["status"], shown["blocked_reason"]) == ("blocked", "abuse flag: return_cycles")
    assert shown["flags"][0]["blocked"] is True
    assert (await _flag_events(api))[0]["blocked"] is True
    refused = await api.call("POST", "/purchases", json=tea("b-3", "c-1"))
    assert refused.json()["error"]["code"] == "member_blocked"
    # clearing the flag leaves the block; unblocking lifts it
    await api.call("POST", f"/members/{member['id']}/unflag")
    assert (await api.call("GET", f"/members/{member['id']}")).json()["status"] == "blocked"
    await api.call("POST", f"/members/{member['id']}/unblock")
    assert (await api.call("POST", "/purchases", json=tea("b-3", "c-1"))).status_code == 201


async def test_without_the_setting_nobody_is_flagged(api: Api) -> None:
    await enrol(api, "c-1")
    for n in range(4):
        await _buy_and_return(api, f"b-{n}")
    assert await _flag_events(api) == []


async def _buy_and_return_amount(api: Api, external_id: str, amount: str) -> int:
    return await _buy_and_return(api, external_id, amount=amount)


async def test_returns_of_at_least_the_share_count_as_a_cycle(api: Api) -> None:
    settings = "  return_cycles: {returns: 3, days: 30, min_returned_percent: 90, block: true}\n"
    await api.call("PUT", "/program", content=program(settings))
    member = await enrol(api, "c-1")
    path = f"/members/{member['id']}"
    short = await _buy_and_return_amount(api, "b-1", "899.99")  # 1,000.00: one kopeck short
    await _buy_and_return_amount(api, "b-2", "900.00")  # exactly 90 %: counts
    await _buy_and_return_amount(api, "b-3", "990.00")  # 99 %: counts
    assert await _flag_events(api) == []
    before = await snapshot(api.database)
    # the first purchase's second return brings it to 90 %: the third that counts
    topped = await api.call(
        "POST", f"/purchases/{short}/returns", json={"external_id": "ret-b-1b", "amount": "0.01"}
    )
    assert topped.status_code == 201, topped.text
    after = await snapshot(api.database)
    [event] = await _flag_events(api)
    details = {
        "full_returns": 0,
        "partial_returns": 3,
        "days": 30,
        "threshold": 3,
        "min_returned_percent": 90,
    }
    assert (event["reason"], event["details"], event["blocked"]) == (
        "partial_return_cycles",
        details,
        True,
    )
    shown = (await api.call("GET", path)).json()
    assert (shown["status"], shown["blocked_reason"]) == (
        "blocked",
        "abuse flag: partial_return_cycles",
    )
    assert [flag["reason"] for flag in shown["flags"]] == ["partial_return_cycles"]
    # the flag wrote no balance: what changed besides the return's own rows is the flag
    for table in ("accounts", "lots"):
        assert len(after[table]) == len(before[table])
    new_flags = [row for row in after["member_flags"] if row not in before["member_flags"]]
    assert len(new_flags) == 1
    # the return sent again is answered as before and flags nothing more
    again = await api.call(
        "POST", f"/purchases/{short}/returns", json={"external_id": "ret-b-1b", "amount": "0.01"}
    )
    assert again.status_code == 200
    assert len(await _flag_events(api)) == 1


async def test_a_mix_of_full_and_partial_returns_records_both(api: Api) -> None:
    settings = "  return_cycles: {returns: 3, days: 30, min_returned_percent: 95}\n"
    await api.call("PUT", "/program", content=program(settings))
    await enrol(api, "c-1")
    await _buy_and_return_amount(api, "b-1", "940.00")  # 94 %: not counted
    await _buy_and_return(api, "b-2")  # full
    await _buy_and_return_amount(api, "b-3", "950.00")  # 95 %
    assert await _flag_events(api) == []
    await _buy_and_return(api, "b-4")  # full
    [event] = await _flag_events(api)
    assert event["reason"] == "partial_return_cycles"
    assert (event["details"]["full_returns"], event["details"]["partial_returns"]) == (2, 1)
    assert event["blocked"] is False


async def test_full_returns_alone_keep_the_reason_return_cycles_at_any_share(api: Api) -> None:
    settings = "  return_cycles: {returns: 2, days: 30, min_returned_percent: 50}\n"
    await api.call("PUT", "/program", content=program(settings))
    await enrol(api, "c-1")
    await _buy_and_return(api, "b-1")
    await _buy_and_return(api, "b-2")
    [event] = await _flag_events(api)
    assert event["reason"] == "return_cycles"
    assert event["details"]["min_returned_percent"] == 50


async def test_the_share_is_a_whole_percent_from_1_to_100(api: Api) -> None:
    for value in ("0", "101", "90.5", '"90"'):
        settings = f"  return_cycles: {{returns: 3, days: 30, min_returned_percent: {value}}}\n"
        refused = await api.call("PUT", "/program", content=program(settings))
        assert refused.status_code == 422, (value, refused.text)
