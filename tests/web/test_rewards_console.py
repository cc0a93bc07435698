"""The console's rewards catalogue (``/admin/rewards``): the list with stock and usage, and an
admin's create, edit, disable and enable, each a new program version (audited) that the API's
catalogue then shows; a refused file changes nothing; staff may look but not change. On
SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from patron.programs import service as program_service
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.privacy.conftest import populate
from tests.web.test_member_360 import _audited, _console, _text

NEW = {
    "code": "TEA-MUG",
    "name": "Tea mug",
    "description": "A mug with our logo",
    "kind": "free_product",
    "value": "",
    "sku": "MUG-1",
    "cost_points": "250",
    "valid_days": "30",
    "stock": "5",
    "min_tier": "",
}


async def _catalogue(api: Api) -> dict[str, dict[str, Any]]:
    answer = await api.call("GET", "/rewards", "staff")
    assert answer.status_code == 200, answer.text
    return {reward["code"]: reward for reward in answer.json()}


async def _version(api: Api) -> int:
    async with api.database.read() as session:
        return (await program_service.get_active_program(session)).version


async def test_staff_see_the_catalogue_with_usage_but_cannot_change_it(api: Api) -> None:
    await populate(api)  # Anna redeemed DISC10 once
    console = await _console(api)
    staff, token = await console.logged_in("staff")
    async with aclosing(staff):
        page = await staff.get("/admin/rewards?lang=en")
        assert page.status_code == 200
        text = _text(page.text)
        assert "DISC10" in text
        assert 'href="/admin/rewards/new"' not in page.text
        assert 'action="/admin/rewards/DISC10/disable"' not in page.text
        for path in ("/admin/rewards/new", "/admin/rewards/DISC10/edit"):
            assert (await staff.get(path)).status_code == 403
        form = {**NEW, "csrf_token": token}
        assert (await staff.post("/admin/rewards", data=form)).status_code == 403
        disable = await staff.post("/admin/rewards/DISC10/disable", data={"csrf_token": token})
        assert disable.status_code == 403
        russian = await staff.get("/admin/rewards?lang=ru")
        assert "Выдано купонов" in russian.text
    assert "TEA-MUG" not in await _catalogue(api)
    assert (await _catalogue(api))["DISC10"]["available"]
    # the usage column: one DISC10 coupon, still to use
    row = text.split("DISC10")[1].split("Active")[0]
    assert " 1 1 0 0 " in f" {row} "


async def test_an_admin_creates_edits_disables_and_enables_a_reward(api: Api) -> None:
    console = await _console(api)
    admin, token = await console.logged_in("admin")
    start = await _version(api)
    async with aclosing(admin):
        forged = await admin.post("/admin/rewards", data={**NEW, "csrf_token": "forged"})
        assert forged.status_code == 403
        created = await admin.post("/admin/rewards", data={**NEW, "csrf_token": token})
        assert created.status_code == 303, created.text
        assert created.headers["location"] == "/admin/rewards?notice=created"
        mug = (await _catalogue(api))["TEA-MUG"]
        assert (mug["name"], mug["cost_points"], mug["stock"], mug["sku"]) == (
            "Tea mug", 250, 5, "MUG-1",
        )  # fmt: skip
        assert mug["valid_days"] == 30
        again = await admin.post("/admin/rewards", data={**NEW, "csrf_token": token})
        assert again.status_code == 422
        assert "already has a reward with this code" in again.text
        edit = await admin.get("/admin/rewards/TEA-MUG/edit?lang=en")
        assert 'value="250"' in edit.text
        changed = {**NEW, "cost_points": "300", "stock": "", "csrf_token": token}
        saved = await admin.post("/admin/rewards/TEA-MUG/edit", data=changed)
        assert saved.headers["location"] == "/admin/rewards?notice=saved"
        mug = (await _catalogue(api))["TEA-MUG"]
        assert (mug["cost_points"], mug["stock"]) == (300, None)
        off = await admin.post("/admin/rewards/TEA-MUG/disable", data={"csrf_token": token})
        assert off.headers["location"] == "/admin/rewards?notice=disabled"
        assert "TEA-MUG" not in await _catalogue(api)
        listed = await admin.get("/admin/rewards?lang=en")
        assert 'action="/admin/rewards/TEA-MUG/enable"' in listed.text
        assert "Disabled" in listed.text
        twice = await admin.post("/admin/rewards/TEA-MUG/disable", data={"csrf_token": token})
        assert twice.headers["location"] == "/admin/rewards?notice=unchanged"
        on = await admin.post("/admin/rewards/TEA-MUG/enable", data={"csrf_token": token})
        assert on.headers["location"] == "/admin/rewards?notice=enabled"
        assert (await _catalogue(api))["TEA-MUG"]["available"]
    assert await _version(api) == start + 4  # created, edited, disabled, enabled
    admin_id = console.user_ids["admin"]
    # a program edit's row names the program (its versions and changes in the row's details)
    assert await _audited(console, "rewards.create_reward") == [
        ("user", "program:default", True, admin_id)
    ]
    changes = await _audited(console, "rewards.change_reward")
    # edited, disabled, disabled again (unchanged), enabled
    assert [(row[1], row[2]) for row in changes] == [
        ("program:default", True), ("program:default", True), ("program:default", False),
        ("program:default", True),
    ]  # fmt: skip


async def test_a_disabled_reward_cannot_be_redeemed(api: Api) -> None:
    made = await populate(api)
    console = await _console(api)
    admin, token = await console.logged_in("admin")
    async with aclosing(admin):
        off = await admin.post("/admin/rewards/DISC10/disable", data={"csrf_token": token})
        assert off.headers["location"] == "/admin/rewards?notice=disabled"
    body = {"member_id": made.member_id, "reward_code": "DISC10"}
    refused = await api.call("POST", "/redemptions", "admin", json=body)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "reward_not_found"
    # the coupon issued before still works
    assert (await api.call("GET", f"/coupons/{made.coupon_code}", "staff")).status_code == 200


async def test_an_invalid_reward_is_shown_on_the_form_and_changes_nothing(api: Api) -> None:
    console = await _console(api)
    admin, token = await console.logged_in("admin")
    start = await _version(api)
    async with aclosing(admin):
        bad = {**NEW, "kind": "percent_discount", "value": "150", "sku": "", "csrf_token": token}
        refused = await admin.post("/admin/rewards?lang=en", data=bad)
        assert refused.status_code == 422
        assert "Nothing was saved" in refused.text
        assert "percent" in refused.text
        assert 'value="150"' in refused.text  # the form keeps what was typed
        words = await admin.post("/admin/rewards", data={**NEW, "cost_points": "many",
                                                          "csrf_token": token})  # fmt: skip
        assert words.status_code == 422
        missing = await admin.post("/admin/rewards/NOPE/edit", data={**NEW, "csrf_token": token})
        assert missing.status_code == 404
    assert await _version(api) == start
    assert await _audited(console, "rewards.create_reward") == []
