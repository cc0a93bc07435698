"""The member portal over HTTP (no browser): one-time login links, member sessions apart
from staff sessions, CSRF, redeeming (refused with its reason, idempotent), coupons with QR
codes, purchase history, the profile, and one member never seeing another's data."""

from __future__ import annotations

import re
from contextlib import aclosing
from datetime import timedelta

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from patron.access import service as access_service
from patron.access.models import Role
from patron.api.role_matrix import is_portal_path
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.members import card
from patron.members import portal as portal_service
from patron.members import service as member_service
from patron.members.errors import MemberErasedError
from patron.members.models import Language, PortalLink, PortalSession
from patron.members.schemas import MemberCreate, MemberUpdate
from patron.notifications import tokens
from patron.privacy import service as privacy_service
from patron.programs import service as program_service
from patron.programs.service import get_active_program
from patron.rewards import service as reward_service
from patron.web.member_auth import FRAME_ANCESTORS_VARIABLE, MEMBER_COOKIE, SECRET_VARIABLE
from tests.conftest import REPO
from tests.web.conftest import Console, form_token, make_console

REFUSED_LINK = "A login link works once and for 15 minutes. Ask at the till for a new one."


async def _member(console: Console, external_id: str, name: str, points: int) -> int:
    """A member with ``points`` bonus points (expiring in 30 days)."""
    now = utcnow()
    async with console.database.write() as session:
        active = await get_active_program(session)
        member = await member_service.enrol_member(
            session,
            program_id=active.program_id,
            data=MemberCreate(external_id=external_id, name=name, consents={"email": True}),
            now=now,
        )
        if points:
            await ledger_service.credit(
                session,
                member_id=member.id,
                amount=points,
                kind=EntryKind.BONUS,
                idempotency_key=f"test:{external_id}",
                source_type="test",
                source_id=external_id,
                now=now,
                expires_at=now + timedelta(days=30),
            )
    return member.id


async def _link(console: Console, member_id: int, *, minutes_ago: int = 0) -> str:
    async with console.database.write() as session:
        now = utcnow() - timedelta(minutes=minutes_ago)
        return await portal_service.create_link(session, member_id=member_id, now=now)


async def _use(client: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await client.get(f"/portal/login/{token}")
    assert page.status_code == 200
    return await client.post(f"/portal/login/{token}", data={"csrf_token": form_token(page.text)})


async def _portal(console: Console, member_id: int) -> tuple[httpx.AsyncClient, str]:
    """A client logged in to the portal as the member, and its session's CSRF token."""
    client = console.client()
    answer = await _use(client, await _link(console, member_id))
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/portal"
    home = await client.get("/portal")
    assert home.status_code == 200
    return client, form_token(home.text)


def _main(page: str) -> str:
    found = re.search(r"<main.*</main>", page, re.S)
    assert found is not None
    return found.group(0)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", page.replace("\xa0", " ").replace("\u202f", " "))


async def test_a_link_logs_in_once_and_only_its_hash_is_stored(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 350)
    token = await _link(console, member_id)
    async with console.client() as client:
        page = await client.get(f"/portal/login/{token}")
        assert page.status_code == 200
        assert "Open my account" in page.text
        answer = await client.post(
            f"/portal/login/{token}", data={"csrf_token": form_token(page.text)}
        )
        assert answer.status_code == 303
        cookie = next(
            value
            for value in answer.headers.get_list("set-cookie")
            if value.startswith(MEMBER_COOKIE + "=")
        ).lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        home = await client.get("/portal")
        assert home.status_code == 200
        assert "Hello, Anna" in home.text
        assert home.headers["cache-control"] == "no-store"
        assert home.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
    async with console.database.read() as session:
        links = (await session.execute(select(PortalLink.token_hash, PortalLink.used_at))).all()
        sessions = (await session.execute(select(PortalSession.token_hash))).all()
    assert len(links) == len(sessions) == 1
    assert links[0].token_hash != token
    assert len(links[0].token_hash) == 64
    assert links[0].used_at is not None
    # the second use of the link (another browser) is refused, as an unknown token is
    async with console.client() as other:
        again = await _use(other, token)
        unknown = await _use(other, "x" * 43)
        assert (again.status_code, unknown.status_code) == (401, 401)
        assert REFUSED_LINK in again.text
        assert _main(again.text) == _main(unknown.text)
        assert MEMBER_COOKIE not in other.cookies
        assert (await other.get("/portal")).status_code == 401


async def test_an_expired_link_is_refused(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 0)
    stale = await _link(console, member_id, minutes_ago=portal_service.LINK_MINUTES + 1)
    fresh = await _link(console, member_id, minutes_ago=portal_service.LINK_MINUTES - 1)
    async with console.client() as client:
        assert (await _use(client, stale)).status_code == 401
        assert (await _use(client, fresh)).status_code == 303


async def test_the_link_form_needs_its_csrf_token(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 0)
    token = await _link(console, member_id)
    async with console.client() as client:
        await client.get(f"/portal/login/{token}")
        forged = await client.post(f"/portal/login/{token}", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        # the refused form spent nothing: the link still works
        assert (await _use(client, token)).status_code == 303


async def test_member_and_staff_sessions_open_only_their_own_pages(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 0)
    member, _token = await _portal(console, member_id)
    staff, _ = await console.logged_in("admin")
    try:
        admin_page = await member.get("/admin")
        assert admin_page.status_code == 303
        assert admin_page.headers["location"].startswith("/admin/login")
        refused = await staff.get("/portal")
        assert refused.status_code == 401
        assert "ask at the till for a login link" in refused.text
        # the portal's cookie value does not work as a staff session either
        forged = console.client()
        forged.cookies.set("patron_session", member.cookies[MEMBER_COOKIE])
        assert (await forged.get("/admin")).status_code == 303
        await forged.aclose()
    finally:
        await member.aclose()
        await staff.aclose()


async def test_home_shows_balance_next_expiry_and_tier_progress(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 350)
    client, _token = await _portal(console, member_id)
    async with aclosing(client):
        home = _text((await client.get("/portal")).text)
        assert 'id="available">350 points' in home
        assert 'id="pending">0 points' in home
        assert 'id="expiry">350 points' in home
        assert "650 points to Bronze" in home
        russian = _text((await client.get("/portal?lang=ru")).text)
        assert "ещё 650 баллов до уровня Bronze" in russian
        assert 'id="available">350 баллов' in russian
        polish = _text((await client.get("/portal?lang=pl")).text)
        assert "jeszcze 650 punktów do poziomu Bronze" in polish


async def test_redeem_refused_when_unaffordable_with_the_reason(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 50)
    client, token = await _portal(console, member_id)
    async with aclosing(client):
        rewards = _text((await client.get("/portal/rewards")).text)
        assert "You need 50 points more." in rewards
        answer = await client.post("/portal/rewards/DISC10/redeem", data={"csrf_token": token})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/portal/rewards?notice=insufficient_points"
        shown = await client.get(answer.headers["location"])
        assert "you do not have enough points for this reward" in shown.text
    async with console.database.read() as session:
        assert await reward_service.list_coupons(session, member_id=member_id) == []
        balance = await ledger_service.balance(session, member_id=member_id, now=utcnow())
    assert balance.available == 50


async def test_forms_without_the_sessions_csrf_token_change_nothing(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 500)
    client, _token = await _portal(console, member_id)
    async with aclosing(client):
        page = await client.get("/portal/rewards")
        forged = await client.post(
            "/portal/rewards/DISC10/redeem", data={"csrf_token": "forged", "key": "k"}
        )
        assert forged.status_code == 403
        assert "The form has expired" in forged.text
        missing = await client.post("/portal/profile", data={"consent_sms": "on"})
        assert missing.status_code == 403
        logout = await client.post("/portal/logout", data={})
        assert logout.status_code == 403
        assert page.status_code == 200
    async with console.database.read() as session:
        assert await reward_service.list_coupons(session, member_id=member_id) == []
        member = await member_service.get_member(session, member_id=member_id)
    assert {c.channel.value: c.is_granted for c in member.consents} == {"email": True}


async def test_redeem_issues_one_coupon_shown_with_its_qr_code(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 500)
    client, token = await _portal(console, member_id)
    async with aclosing(client):
        page = await client.get("/portal/rewards")
        key = re.search(r'name="key" value="([^"]+-DISC10)"', page.text)
        assert key is not None
        form = {"csrf_token": token, "key": key.group(1)}
        first = await client.post("/portal/rewards/DISC10/redeem", data=form)
        second = await client.post("/portal/rewards/DISC10/redeem", data=form)  # double submit
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        coupons = await client.get(first.headers["location"])
    async with console.database.read() as session:
        held = await reward_service.list_coupons(session, member_id=member_id)
        balance = await ledger_service.balance(session, member_id=member_id, now=utcnow())
    assert len(held) == 1
    assert balance.available == 400
    assert held[0].code in coupons.text
    assert "<svg" in coupons.text
    assert f'aria-label="QR code of coupon {held[0].code}"' in coupons.text
    assert "10% off your next purchase" in coupons.text


async def test_a_member_never_sees_another_members_data(console: Console) -> None:
    anna = await _member(console, "m-a", "Anna Alpha", 500)
    boris = await _member(console, "m-b", "Boris Beta", 700)
    async with console.database.write() as session:
        active = await get_active_program(session)
        coupon = await reward_service.redeem(
            session, active=active, member_id=boris, reward_code="DISC10", now=utcnow()
        )
    client, token = await _portal(console, anna)
    async with aclosing(client):
        for path in ("/portal", "/portal/rewards", "/portal/coupons", "/portal/history",
                     "/portal/profile"):  # fmt: skip
            page = await client.get(path)
            assert page.status_code == 200, path
            assert "Boris" not in page.text, path
            assert "m-b" not in page.text, path
            assert coupon.coupon.code not in page.text, path
            assert "600 points" not in page.text, path
        # no address names a member: the redeem spends the session's member's points only
        answer = await client.post(
            "/portal/rewards/DISC10/redeem", data={"csrf_token": token, "key": "one"}
        )
        assert answer.status_code == 303
    async with console.database.read() as session:
        anna_coupons = await reward_service.list_coupons(session, member_id=anna)
        boris_coupons = await reward_service.list_coupons(session, member_id=boris)
    assert len(anna_coupons) == 1
    assert [held.code for held in boris_coupons] == [coupon.coupon.code]


async def test_the_profile_changes_language_and_consents(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 0)
    client, token = await _portal(console, member_id)
    async with aclosing(client):
        answer = await client.post(
            "/portal/profile",
            data={"csrf_token": token, "language": "ru", "consent_sms": "on"},
        )
        assert answer.status_code == 303
        page = await client.get(answer.headers["location"])
        assert page.text.count('lang="ru"') >= 1
        assert "Сохранено." in page.text
    async with console.database.read() as session:
        member = await member_service.get_member(session, member_id=member_id)
        history = await member_service.consent_history(session, member_id=member_id)
    assert member.language is not None
    assert member.language.value == "ru"
    assert {c.channel.value: c.is_granted for c in member.consents} == {"email": False, "sms": True}
    assert {(change.channel.value, change.is_granted, change.source) for change in history} >= {
        ("email", False, "portal"),
        ("sms", True, "portal"),
    }


async def test_the_profile_language_is_the_default_then_the_browsers(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 0)
    async with console.database.write() as session:
        await member_service.update_member(
            session,
            member_id=member_id,
            data=MemberUpdate(language=Language.PL),
            now=utcnow(),
        )
    client, _token = await _portal(console, member_id)
    async with aclosing(client):
        page = await client.get("/portal", headers={"Accept-Language": "ru"})
        assert '<html lang="pl">' in page.text
    async with console.client() as anonymous:
        refused = await anonymous.get("/portal", headers={"Accept-Language": "ru"})
        assert '<html lang="ru">' in refused.text


async def test_logging_out_ends_the_member_session(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 0)
    client, token = await _portal(console, member_id)
    async with aclosing(client):
        kept = client.cookies[MEMBER_COOKIE]
        out = await client.post("/portal/logout", data={"csrf_token": token})
        assert out.status_code == 200
        assert "You are logged out." in out.text
        assert (await client.get("/portal")).status_code == 401
    async with console.client() as replay:
        replay.cookies.set(MEMBER_COOKIE, kept)
        assert (await replay.get("/portal")).status_code == 401


async def test_erasure_ends_the_portal_and_the_export_shows_its_rows(console: Console) -> None:
    member_id = await _member(console, "m-1", "Anna", 0)
    client, _token = await _portal(console, member_id)
    async with console.database.read() as session:
        exported = await privacy_service.export_member(session, member_id=member_id, now=utcnow())
    assert len(exported.portal_links) == len(exported.portal_sessions) == 1
    assert exported.portal_links[0]["used_at"] is not None
    async with console.database.write() as session:
        await privacy_service.erase_member(session, member_id=member_id, now=utcnow())
    async with aclosing(client):
        assert (await client.get("/portal")).status_code == 401
    async with console.database.read() as session:
        after = await privacy_service.export_member(session, member_id=member_id, now=utcnow())
        with pytest.raises(MemberErasedError):
            await portal_service.create_link(session, member_id=member_id, now=utcnow())
    assert after.portal_links == after.portal_sessions == []


# Every portal page: what an anonymous visitor gets (no member session).
PORTAL_MATRIX: dict[tuple[str, str], int] = {
    ("GET", "/portal"): 401,
    ("GET", "/portal/rewards"): 401,
    ("POST", "/portal/rewards/{code}/redeem"): 401,
    ("GET", "/portal/coupons"): 401,
    ("GET", "/portal/card"): 401,
    ("GET", "/portal/history"): 401,
    ("GET", "/portal/surveys"): 401,
    ("GET", "/portal/surveys/{invitation_id}"): 401,
    ("POST", "/portal/surveys/{invitation_id}"): 401,
    ("GET", "/portal/referral"): 401,
    ("GET", "/portal/wallet"): 401,
    ("GET", "/join"): 200,  # a referral link's landing page: anyone
    ("GET", "/portal/profile"): 401,
    ("POST", "/portal/profile"): 401,
    ("POST", "/portal/logout"): 401,
    ("GET", "/portal/login"): 200,  # asking for a link by email
    ("POST", "/portal/login"): 403,  # without the form's token
    ("GET", "/portal/login/{token}"): 200,  # the button; spends nothing
    ("POST", "/portal/login/{token}"): 403,  # without the form's token
    ("GET", "/portal/embed"): 404,  # embedding is off without PATRON_PORTAL_SECRET
    ("GET", "/s/{token}"): 404,  # a survey link's page: the token is the credential
    ("POST", "/s/{token}"): 404,
}


def _portal_operations(app: object) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        path = str(context.path_format or context.path or "")
        if is_portal_path(path):
            found.update(
                (method, path) for method in context.methods or {"GET"} if method != "HEAD"
            )
    return found


async def test_every_portal_page_is_in_the_matrix(console: Console) -> None:
    assert _portal_operations(console.app) == set(PORTAL_MATRIX)


@pytest.mark.parametrize(("method", "path"), sorted(PORTAL_MATRIX))
async def test_portal_pages_without_a_member_session(
    console: Console, method: str, path: str
) -> None:
    url = path.replace("{code}", "DISC10").replace("{token}", "x" * 43)
    url = url.replace("{invitation_id}", "1")
    staff, token = await console.logged_in("admin")  # a staff session changes nothing here
    try:
        data = {"csrf_token": token} if method == "POST" else None
        answer = await staff.request(method, url, data=data)
    finally:
        await staff.aclose()
    assert answer.status_code == PORTAL_MATRIX[(method, path)], answer.text[:300]


SECRET = "s" * 40
SHOP = "https://shop.example"


async def test_a_signed_embed_token_opens_the_portal_framed_by_the_shop(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    member_id = await _member(console, "m-1", "Anna", 350)
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    monkeypatch.setenv(FRAME_ANCESTORS_VARIABLE, f"{SHOP} javascript:alert(1)")
    now = utcnow()
    token = portal_service.sign_embed_token(
        SECRET, member_id=member_id, expires_at=now + timedelta(minutes=5)
    )
    async with console.client() as client:
        answer = await client.get("/portal/embed", params={"token": token})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/portal"
        home = await client.get("/portal")
        assert "Hello, Anna" in home.text
        policy = home.headers["content-security-policy"]
        assert f"frame-ancestors 'self' {SHOP};" in policy
        assert "javascript" not in policy
        assert "x-frame-options" not in home.headers
        # the token is good until it expires; a second use starts another session
        assert (await client.get("/portal/embed", params={"token": token})).status_code == 303
        # console pages are never framed
        login = await client.get("/admin/login")
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        assert login.headers["x-frame-options"] == "DENY"


async def test_embed_cookie_is_partitioned_and_cross_site_over_https(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = await make_console(database, "https://loyalty.shop.example")
    member_id = await _member(console, "m-1", "Anna", 0)
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    token = portal_service.sign_embed_token(
        SECRET, member_id=member_id, expires_at=utcnow() + timedelta(minutes=5)
    )
    async with console.client() as client:
        answer = await client.get("/portal/embed", params={"token": token})
        assert answer.status_code == 303
        cookie = next(
            value
            for value in answer.headers.get_list("set-cookie")
            if value.startswith(MEMBER_COOKIE + "=")
        ).lower()
        assert "samesite=none" in cookie
        assert "secure" in cookie
        assert "partitioned" in cookie
        assert "httponly" in cookie


@pytest.mark.parametrize(
    "problem", ["expired", "too_far", "forged", "other_secret", "unknown_member", "garbled"]
)
async def test_a_bad_embed_token_is_refused(
    console: Console, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    member_id = await _member(console, "m-1", "Anna", 0)
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    now = utcnow()
    good = now + timedelta(minutes=5)
    token = {
        "expired": portal_service.sign_embed_token(
            SECRET, member_id=member_id, expires_at=now - timedelta(seconds=1)
        ),
        "too_far": portal_service.sign_embed_token(
            SECRET, member_id=member_id, expires_at=now + timedelta(minutes=11)
        ),
        "forged": portal_service.sign_embed_token(
            SECRET, member_id=member_id, expires_at=good
        ).replace(f"{member_id}.", f"{member_id + 1}.", 1),
        "other_secret": portal_service.sign_embed_token(
            "t" * 40, member_id=member_id, expires_at=good
        ),
        "unknown_member": portal_service.sign_embed_token(
            SECRET, member_id=999_999, expires_at=good
        ),
        "garbled": "1.2",
    }[problem]
    async with console.client() as client:
        answer = await client.get("/portal/embed", params={"token": token})
        assert answer.status_code == 401
        assert "Reload the shop" in answer.text
        assert MEMBER_COOKIE not in client.cookies
        assert (await client.get("/portal")).status_code == 401


@pytest.mark.parametrize(
    ("language", "title", "number"),
    [("en", "My card", "Card number"), ("pl", "Moja karta", "Numer karty"),
     ("ru", "Моя карта", "Номер карты")],
)  # fmt: skip
async def test_the_card_page_shows_a_fresh_card_token_as_a_qr_code(
    console: Console, language: str, title: str, number: str
) -> None:
    """The card page: the card number and a QR code of a card token that names the member
    and expires in ``CARD_MINUTES``; each visit makes a new token; a till's key reads it."""
    member_id = await _member(console, "CARD-7", "Anna", 0)
    client, _ = await _portal(console, member_id)
    async with aclosing(client):
        page = await client.get("/portal/card", params={"lang": language})
        again = await client.get("/portal/card", params={"lang": language})
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    main = _text(_main(page.text))
    assert f"<h1>{title}</h1>" in main
    assert number in main
    assert "CARD-7" in main
    assert "<svg" in main
    assert 'role="img"' in main
    token = re.search(r'data-token="([^"]+)"', page.text)
    assert token is not None
    async with console.database.write() as session:
        till = await access_service.create_key(
            session, name=f"till-{language}", role=Role.POS, now=utcnow()
        )
        key = await tokens.existing_key(session)
    assert card.read_card_token(key, token[1], now=utcnow()) == member_id
    assert card.read_card_token(key, token[1] + "\n", now=utcnow()) is None
    async with aclosing(console.client()) as api:
        found = await api.get(
            f"/api/v1/members/by-token/{token[1]}",
            headers={"Authorization": f"Bearer {till.key}"},
        )
    assert found.status_code == 200, found.text
    assert (found.json()["id"], found.json()["external_id"]) == (member_id, "CARD-7")
    assert card.read_card_token(key, token[1], now=utcnow() + timedelta(minutes=11)) is None
    assert again.status_code == 200


async def test_a_club_reward_is_shown_as_for_club_members_and_refused(console: Console) -> None:
    """Issue 12 part 6: a reward kept for an audience the member is not in says so, and a
    redeem posted anyway is refused with the notice, changing nothing."""
    club = (REPO / "examples" / "club-program.yaml").read_text()
    async with console.database.write() as session:
        await program_service.apply_program(session, text=club, created_by="test")
    member_id = await _member(console, "m-club", "Anna", 500)
    client, token = await _portal(console, member_id)
    async with aclosing(client):
        rewards = _text((await client.get("/portal/rewards")).text)
        assert "For club members only." in rewards
        answer = await client.post(
            "/portal/rewards/CLUB-TASTING/redeem", data={"csrf_token": token, "key": "c"}
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/portal/rewards?notice=reward_not_eligible"
        shown = await client.get(answer.headers["location"])
        assert "this reward is for club members only" in shown.text
    async with console.database.read() as session:
        assert await reward_service.list_coupons(session, member_id=member_id) == []
        balance = await ledger_service.balance(session, member_id=member_id, now=utcnow())
    assert balance.available == 500
