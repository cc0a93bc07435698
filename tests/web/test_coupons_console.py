"""The console's coupons (``/admin/coupons``): the lookup by code in any state, and an admin's
cancellation after a confirmation page (CSRF, audited), which the API then shows; staff may look
but not cancel. On SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import aclosing

from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.privacy.conftest import ANNA, populate
from tests.web.test_member_360 import _audited, _console, _text


async def _available(api: Api, member_id: int) -> int:
    answer = await api.call("GET", f"/members/{member_id}", "staff")
    return int(answer.json()["points"]["available"])


async def test_staff_look_a_coupon_up_but_cannot_cancel_it(api: Api) -> None:
    made = await populate(api)
    console = await _console(api)
    staff, token = await console.logged_in("staff")
    code = made.coupon_code
    async with aclosing(staff):
        page = await staff.get(f"/admin/coupons?code={code.lower()}&lang=en")
        assert page.status_code == 200
        text = _text(page.text)
        assert f"Coupon {code}" in text
        assert "Status To use" in text
        assert "Reward DISC10" in text
        assert f'href="/admin/members/{made.member_id}"' in page.text
        assert f'href="/admin/coupons/{code}/cancel"' not in page.text  # staff: no action
        assert (await staff.get(f"/admin/coupons/{code}/cancel")).status_code == 403
        refused = await staff.post(f"/admin/coupons/{code}/cancel", data={"csrf_token": token})
        assert refused.status_code == 403
        unknown = await staff.get("/admin/coupons?code=NO-SUCH-CODE&lang=pl")
        assert "Nie ma kuponu o tym kodzie." in unknown.text
        russian = await staff.get(f"/admin/coupons?code={code}&lang=ru")
        assert "Купон " + code in russian.text
    still = await api.call("GET", f"/coupons/{code}", "staff")
    assert still.status_code == 200
    assert await _audited(console, "rewards.cancel_coupon") == []


async def test_an_admin_cancels_a_coupon_after_confirming(api: Api) -> None:
    made = await populate(api)
    code = made.coupon_code
    cost = int((await api.call("GET", f"/coupons/{code}", "staff")).json()["cost_points"])
    assert cost > 0
    before = await _available(api, made.member_id)
    console = await _console(api)
    admin, token = await console.logged_in("admin")
    async with aclosing(admin):
        shown = await admin.get(f"/admin/coupons?code={code}&lang=en")
        assert f'href="/admin/coupons/{code}/cancel"' in shown.text
        confirm = await admin.get(f"/admin/coupons/{code}/cancel?lang=en")
        assert confirm.status_code == 200
        assert "Cancelling cannot be undone" in confirm.text
        assert f'action="/admin/coupons/{code}/cancel"' in confirm.text
        forged = await admin.post(f"/admin/coupons/{code}/cancel", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert (await api.call("GET", f"/coupons/{code}", "staff")).status_code == 200
        done = await admin.post(f"/admin/coupons/{code.lower()}/cancel", data={"csrf_token": token})
        assert done.status_code == 303
        assert done.headers["location"] == f"/admin/coupons?code={code}&notice=cancelled"
        after = await admin.get(done.headers["location"] + "&lang=en")
        assert "The coupon is cancelled" in after.text
        assert "Status Cancelled" in _text(after.text)
        again = await admin.post(f"/admin/coupons/{code}/cancel", data={"csrf_token": token})
        assert again.headers["location"] == f"/admin/coupons?code={code}&notice=coupon_cancelled"
        missing = await admin.post("/admin/coupons/NOPE/cancel", data={"csrf_token": token})
        assert missing.status_code == 404
    refused = await api.call("GET", f"/coupons/{code}", "staff")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "coupon_cancelled"
    assert await _available(api, made.member_id) == before + cost
    admin_id = console.user_ids["admin"]
    assert await _audited(console, "rewards.cancel_coupon") == [
        ("user", f"coupon:{code}", True, admin_id)
    ]


async def test_a_used_coupon_cannot_be_cancelled(api: Api) -> None:
    made = await populate(api)
    code = made.coupon_code
    used = await api.call(
        "POST",
        f"/coupons/{code}/consume",
        "pos",
        json={"ref": "order-9", "member_id": made.member_id},
        headers=ANNA,
    )
    assert used.status_code == 200, used.text
    console = await _console(api)
    admin, token = await console.logged_in("admin")
    async with aclosing(admin):
        page = await admin.get(f"/admin/coupons?code={code}&lang=en")
        assert "Status Used" in _text(page.text)
        assert "order-9" in page.text
        assert f'href="/admin/coupons/{code}/cancel"' not in page.text
        confirm = await admin.get(f"/admin/coupons/{code}/cancel?lang=en")
        assert "Only a coupon still to use can be cancelled." in confirm.text
        assert f'action="/admin/coupons/{code}/cancel"' not in confirm.text
        refused = await admin.post(f"/admin/coupons/{code}/cancel", data={"csrf_token": token})
        assert refused.headers["location"] == f"/admin/coupons?code={code}&notice=coupon_used"
    assert await _audited(console, "rewards.cancel_coupon") == []
