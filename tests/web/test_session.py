"""Logging in and out of the console over HTTP: cookies, CSRF, the rate limit, disabled
users, and the authorization of every console page by role (no browser needed)."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from patron.access.models import UserSession
from patron.api.role_matrix import is_console_path
from patron.audit.models import AuditEntry
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.ledger.service import balance as ledger_balance
from patron.members.schemas import MemberCreate
from patron.members.service import enrol_member, get_member
from patron.programs.service import get_active_program
from patron.web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tests.members.conftest import NOW
from tests.web.conftest import PASSWORD, USERS, Console, form_token, log_in, make_console


async def _sessions(database: Database) -> int:
    async with database.read() as session:
        return int((await session.execute(select(func.count()).select_from(UserSession))).scalar())


def _cookie_header(response: httpx.Response, name: str) -> str:
    found = [value for value in response.headers.get_list("set-cookie") if value.startswith(name)]
    assert found, f"no {name} cookie set"
    return found[0]


async def test_login_sets_an_http_only_lax_session_cookie_and_logout_ends_it(
    console: Console,
) -> None:
    async with console.client() as client:
        anonymous = await client.get("/admin")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/admin/login?next=%2Fadmin"
        answer = await log_in(client, "Boss@Shop.example", PASSWORD)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin"
        cookie = _cookie_header(answer, SESSION_COOKIE).lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie  # plain HTTP to 127.0.0.1: a browser would drop it
        dashboard = await client.get("/admin")
        assert dashboard.status_code == 200
        assert "boss@shop.example" in dashboard.text
        assert dashboard.headers["cache-control"] == "no-store"
        assert dashboard.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in dashboard.headers["content-security-policy"]
        # an htmx fragment asked for without a session sends the whole page to the login
        async with console.client() as anonymous:
            fragment = await anonymous.get(
                "/admin/members/results?q=a", headers={"HX-Request": "true"}
            )
        assert fragment.status_code == 204
        assert fragment.headers["hx-redirect"].startswith("/admin/login?next=")
        assert await _sessions(console.database) == 1
        # logging out without the session's CSRF token is refused and changes nothing
        refused = await client.post("/admin/logout", data={"csrf_token": "forged"})
        assert refused.status_code == 403
        assert await _sessions(console.database) == 1
        out = await client.post("/admin/logout", data={"csrf_token": form_token(dashboard.text)})
        assert out.status_code == 303
        assert out.headers["location"] == "/admin/login"
        assert await _sessions(console.database) == 0
        assert (await client.get("/admin")).status_code == 303


async def test_cookies_are_secure_over_https(database: Database) -> None:
    console = await make_console(database, "https://shop.example")
    async with console.client() as client:
        page = await client.get("/admin/login")
        assert "secure" in _cookie_header(page, LOGIN_CSRF_COOKIE).lower()
        answer = await log_in(client, USERS["admin"], PASSWORD)
        assert answer.status_code == 303
        assert "secure" in _cookie_header(answer, SESSION_COOKIE).lower()
        assert (await client.get("/admin")).status_code == 200


async def test_a_login_without_the_forms_token_is_refused(console: Console) -> None:
    async with console.client() as client:
        await client.get("/admin/login")  # the cookie is set, but the form is forged
        answer = await client.post(
            "/admin/login",
            data={"email": USERS["admin"], "password": PASSWORD, "csrf_token": "forged"},
        )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert await _sessions(console.database) == 0


async def test_wrong_passwords_are_limited_per_email(console: Console) -> None:
    async with console.client() as client:
        for _ in range(5):
            wrong = await log_in(client, USERS["staff"], "not the password")
            assert wrong.status_code == 401
            assert "The email or the password is wrong." in wrong.text
        # the sixth try is refused before the password is checked, even the right one
        limited = await log_in(client, USERS["staff"], PASSWORD)
        assert limited.status_code == 429
        assert "Too many failed attempts" in limited.text
        assert int(limited.headers["retry-after"]) > 0
        # another user from the same address is not locked out by them
        other = await log_in(client, USERS["admin"], PASSWORD)
        assert other.status_code == 303
    assert await _sessions(console.database) == 1


async def test_disabling_a_user_ends_their_session_at_once(console: Console) -> None:
    staff, _ = await console.logged_in("staff")
    admin, token = await console.logged_in("admin")
    try:
        assert (await staff.get("/admin/members")).status_code == 200
        # an admin cannot disable themselves
        itself = await admin.post(
            f"/admin/users/{console.user_ids['admin']}/disable", data={"csrf_token": token}
        )
        assert itself.headers["location"] == "/admin/users?notice=self"
        done = await admin.post(
            f"/admin/users/{console.user_ids['staff']}/disable", data={"csrf_token": token}
        )
        assert done.status_code == 303
        assert (await staff.get("/admin/members")).status_code == 303
        again = await log_in(staff, USERS["staff"], PASSWORD)
        assert again.status_code == 401
    finally:
        await staff.aclose()
        await admin.aclose()
    async with console.database.read() as session:
        rows = (await session.execute(select(AuditEntry))).scalars().all()
        audited = [(row.actor, row.action, row.target, row.user_id, row.role) for row in rows]
    assert audited == [
        ("user", "users.disable", f"user:{console.user_ids['staff']}", console.user_ids["admin"],
         "admin"),
    ]  # fmt: skip


# Every console page and the roles that may open it ("staff": staff and admin).
CONSOLE_MATRIX: dict[tuple[str, str], tuple[str, int]] = {
    ("GET", "/"): ("anyone", 303),
    ("GET", "/admin/login"): ("anyone", 200),  # 303 to the dashboard once logged in
    ("POST", "/admin/login"): ("anyone", 403),  # without the form's token
    ("POST", "/admin/logout"): ("staff", 303),
    ("GET", "/admin"): ("staff", 200),
    ("GET", "/admin/members"): ("staff", 200),
    ("GET", "/admin/members/results"): ("staff", 200),
    ("GET", "/admin/members/{member_id}"): ("staff", 404),
    ("POST", "/admin/members/{member_id}/block"): ("admin", 404),
    ("POST", "/admin/members/{member_id}/unblock"): ("admin", 404),
    ("POST", "/admin/members/{member_id}/unflag"): ("admin", 404),
    ("POST", "/admin/members/{member_id}/adjust"): ("admin", 303),  # no points: back, a notice
    ("POST", "/admin/members/{member_id}/export"): ("admin", 404),
    ("GET", "/admin/members/{member_id}/erase"): ("admin", 404),
    ("POST", "/admin/members/{member_id}/erase"): ("admin", 404),
    ("GET", "/admin/tickets"): ("staff", 200),
    ("GET", "/admin/tickets/{ticket_id}"): ("staff", 404),
    ("POST", "/admin/tickets/{ticket_id}/reply"): ("staff", 303),  # no text: back, a notice
    ("POST", "/admin/tickets/{ticket_id}/status"): ("staff", 303),  # no status: back, a notice
    ("POST", "/admin/tickets/{ticket_id}/assign"): ("staff", 404),  # nobody, on no ticket
    ("POST", "/admin/tickets/{ticket_id}/priority"): ("staff", 303),  # no priority: a notice
    ("POST", "/admin/tickets/{ticket_id}/goodwill"): ("staff", 303),  # no points: back, a notice
    ("POST", "/admin/tickets/{ticket_id}/goodwill/{goodwill_id}/approve"): ("admin", 404),
    ("POST", "/admin/tickets/{ticket_id}/goodwill/{goodwill_id}/reject"): ("admin", 404),
    ("GET", "/admin/messages"): ("staff", 200),
    ("GET", "/admin/reviews"): ("staff", 200),
    ("GET", "/admin/reviews/{review_id}"): ("staff", 404),
    ("POST", "/admin/reviews/{review_id}/reply"): ("staff", 303),  # no text: back, a notice
    ("POST", "/admin/reviews/{review_id}/publish"): ("staff", 404),
    ("GET", "/admin/segments"): ("staff", 200),
    ("GET", "/admin/feedback"): ("staff", 200),
    ("GET", "/admin/rewards"): ("staff", 200),
    ("GET", "/admin/rewards/new"): ("admin", 200),
    ("POST", "/admin/rewards"): ("admin", 422),  # an empty form: shown again with the problem
    ("GET", "/admin/rewards/{code}/edit"): ("admin", 404),
    ("POST", "/admin/rewards/{code}/edit"): ("admin", 404),
    ("POST", "/admin/rewards/{code}/disable"): ("admin", 404),
    ("POST", "/admin/rewards/{code}/enable"): ("admin", 404),
    ("GET", "/admin/coupons"): ("staff", 200),
    ("GET", "/admin/coupons/{code}/cancel"): ("admin", 404),
    ("POST", "/admin/coupons/{code}/cancel"): ("admin", 404),
    ("GET", "/admin/campaigns"): ("staff", 200),
    ("GET", "/admin/campaigns/{key}"): ("staff", 404),  # the seed program has none
    ("POST", "/admin/campaigns/{key}/pause"): ("admin", 404),
    ("POST", "/admin/campaigns/{key}/resume"): ("admin", 404),
    ("GET", "/admin/program"): ("staff", 200),
    ("POST", "/admin/program/check"): ("staff", 422),  # an empty file: its problem shown
    ("POST", "/admin/program/apply"): ("admin", 422),
    ("GET", "/admin/keys"): ("admin", 200),
    ("POST", "/admin/keys"): ("admin", 422),  # no name: the form again, with the problem
    ("POST", "/admin/keys/{key_id}/revoke"): ("admin", 404),
    ("GET", "/admin/partners"): ("admin", 200),
    ("GET", "/admin/partners/{partner_id}"): ("admin", 404),  # the seed program has none
    ("GET", "/admin/webhooks"): ("admin", 200),
    ("POST", "/admin/webhooks"): ("admin", 422),  # no URL: the form again, with the problem
    ("GET", "/admin/webhooks/{webhook_id}"): ("admin", 404),
    ("POST", "/admin/webhooks/{webhook_id}/remove"): ("admin", 404),
    ("POST", "/admin/webhooks/{webhook_id}/enable"): ("admin", 404),
    ("POST", "/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): ("admin", 404),
    ("GET", "/admin/users"): ("admin", 200),
    ("POST", "/admin/users/{user_id}/disable"): ("admin", 404),
    ("POST", "/admin/users/{user_id}/enable"): ("admin", 404),
    ("GET", "/static/web/{path}"): ("anyone", 200),
    ("GET", "/static/web/plotly/{path}"): ("anyone", 200),
}
SAMPLE_PATHS = {
    "/admin/members/{member_id}": "/admin/members/999999",
    "/admin/members/{member_id}/block": "/admin/members/999999/block",
    "/admin/members/{member_id}/unblock": "/admin/members/999999/unblock",
    "/admin/members/{member_id}/unflag": "/admin/members/999999/unflag",
    "/admin/members/{member_id}/adjust": "/admin/members/999999/adjust",
    "/admin/members/{member_id}/export": "/admin/members/999999/export",
    "/admin/members/{member_id}/erase": "/admin/members/999999/erase",
    "/admin/tickets/{ticket_id}": "/admin/tickets/999999",
    "/admin/tickets/{ticket_id}/reply": "/admin/tickets/999999/reply",
    "/admin/tickets/{ticket_id}/status": "/admin/tickets/999999/status",
    "/admin/coupons/{code}/cancel": "/admin/coupons/NOPE/cancel",
    "/admin/rewards/{code}/edit": "/admin/rewards/NOPE/edit",
    "/admin/rewards/{code}/disable": "/admin/rewards/NOPE/disable",
    "/admin/rewards/{code}/enable": "/admin/rewards/NOPE/enable",
    "/admin/tickets/{ticket_id}/assign": "/admin/tickets/999999/assign",
    "/admin/tickets/{ticket_id}/priority": "/admin/tickets/999999/priority",
    "/admin/tickets/{ticket_id}/goodwill": "/admin/tickets/999999/goodwill",
    "/admin/tickets/{ticket_id}/goodwill/{goodwill_id}/approve": (
        "/admin/tickets/999999/goodwill/1/approve"
    ),
    "/admin/tickets/{ticket_id}/goodwill/{goodwill_id}/reject": (
        "/admin/tickets/999999/goodwill/1/reject"
    ),
    "/admin/campaigns/{key}": "/admin/campaigns/nope",
    "/admin/campaigns/{key}/pause": "/admin/campaigns/nope/pause",
    "/admin/campaigns/{key}/resume": "/admin/campaigns/nope/resume",
    "/admin/keys/{key_id}/revoke": "/admin/keys/999999/revoke",
    "/admin/partners/{partner_id}": "/admin/partners/nope",
    "/admin/webhooks/{webhook_id}": "/admin/webhooks/999999",
    "/admin/webhooks/{webhook_id}/remove": "/admin/webhooks/999999/remove",
    "/admin/webhooks/{webhook_id}/enable": "/admin/webhooks/999999/enable",
    "/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": (
        "/admin/webhooks/999999/deliveries/1/redeliver"
    ),
    "/admin/reviews/{review_id}": "/admin/reviews/999999",
    "/admin/reviews/{review_id}/reply": "/admin/reviews/999999/reply",
    "/admin/reviews/{review_id}/publish": "/admin/reviews/999999/publish",
    "/admin/users/{user_id}/disable": "/admin/users/999999/disable",
    "/admin/users/{user_id}/enable": "/admin/users/999999/enable",
    "/static/web/{path}": "/static/web/console.css",
    "/static/web/plotly/{path}": "/static/web/plotly/plotly.min.js",
}


def _console_operations(app: object) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        path = str(context.path_format or context.path or "")
        if not is_console_path(path):
            continue
        for method in context.methods or {"GET"}:
            if method != "HEAD":
                found.add((method, path))
    return found


async def test_every_console_page_is_in_the_matrix(console: Console) -> None:
    assert _console_operations(console.app) == set(CONSOLE_MATRIX)


@pytest.mark.parametrize(("method", "path"), sorted(CONSOLE_MATRIX))
async def test_console_pages_by_role(console: Console, method: str, path: str) -> None:
    who, status = CONSOLE_MATRIX[(method, path)]
    url = SAMPLE_PATHS.get(path, path)
    for role in (None, "staff", "admin"):
        if role is None:
            client, token = console.client(), ""
        else:
            client, token = await console.logged_in(role)
        data = {"csrf_token": token} if method == "POST" else None
        try:
            answer = await client.request(method, url, data=data)
        finally:
            await client.aclose()
        admitted = who == "anyone" or (role is not None and (who == "staff" or role == "admin"))
        if admitted:
            logged_in_login = (method, path) == ("GET", "/admin/login") and role is not None
            expected = 303 if logged_in_login else status
            assert answer.status_code == expected, (role, answer.text[:300])
        elif role is None:
            assert answer.status_code == 303, role
            assert answer.headers["location"].startswith("/admin/login?next=")
        else:
            assert answer.status_code == 403, role
            assert "Not allowed" in answer.text


async def test_blocking_from_the_console_is_audited_and_needs_a_reason(console: Console) -> None:
    async with console.database.write() as session:
        active = await get_active_program(session)
        member = await enrol_member(
            session, program_id=active.program_id, data=MemberCreate(external_id="m-1"), now=NOW
        )
    admin, token = await console.logged_in("admin")
    try:
        page = f"/admin/members/{member.id}"
        no_reason = await admin.post(f"{page}/block", data={"csrf_token": token, "reason": " "})
        assert no_reason.headers["location"] == f"{page}?notice=reason"
        forged = await admin.post(f"{page}/block", data={"csrf_token": "x", "reason": "fraud"})
        assert forged.status_code == 403
        done = await admin.post(f"{page}/block", data={"csrf_token": token, "reason": "fraud"})
        assert done.headers["location"] == f"{page}?notice=blocked"
        shown = await admin.get(page)
        assert "Blocked: fraud" in shown.text
    finally:
        await admin.aclose()
    async with console.database.read() as session:
        state = await get_member(session, member_id=member.id)
        rows = (await session.execute(select(AuditEntry))).scalars().all()
        audited = [(row.actor, row.action, row.target, row.user_id) for row in rows]
    assert state.blocked_reason == "fraud"
    assert audited == [("user", "members.block", f"member:{member.id}", console.user_ids["admin"])]


async def test_adjusting_points_is_checked_by_the_server_and_audited(console: Console) -> None:
    async with console.database.write() as session:
        active = await get_active_program(session)
        member = await enrol_member(
            session, program_id=active.program_id, data=MemberCreate(external_id="m-2"), now=NOW
        )
    admin, token = await console.logged_in("admin")
    page = f"/admin/members/{member.id}"

    async def post(points: str, key: str) -> str:
        form = {"csrf_token": token, "points": points, "reason": "goodwill", "key": key}
        answer = await admin.post(f"{page}/adjust", data=form)
        assert answer.status_code == 303
        return str(answer.headers["location"])

    try:
        assert await post("ten", "k-1") == f"{page}?notice=adjust_invalid"
        assert await post("0", "k-1") == f"{page}?notice=adjust_invalid"
        # an optional sign and ASCII digits only (int() alone took "1_0" and "١٠" as 10)
        for lenient in ("1_0", "\u0661\u0660", "10.0", "- 10", "++10"):
            assert await post(lenient, "k-1") == f"{page}?notice=adjust_invalid", lenient
        assert await post("-1", "k-1") == f"{page}?notice=adjust_short"
        assert await post("70", "k-1") == f"{page}?notice=adjusted#ledger-title"
        assert await post("70", "k-1") == f"{page}?notice=adjusted#ledger-title"  # resent
    finally:
        await admin.aclose()
    async with console.database.read() as session:
        balance = await ledger_balance(session, member_id=member.id, now=utcnow())
        rows = (await session.execute(select(AuditEntry))).scalars().all()
        audited = [(row.action, row.changed, row.after) for row in rows]
    assert balance.available == 70
    after = {"available": 70, "points": 70, "reason": "goodwill"}
    assert audited == [
        ("members.adjust_points", True, after),
        ("members.adjust_points", False, after),
    ]
