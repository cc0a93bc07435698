"""The console in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``;
``.ci/run`` installs it) against ``patron serve`` over a small demo store.

Covered: staff login and logout; the dashboard's tiles and its plotly chart; member search
(htmx swaps the results in as one types) and the member 360 view; the language switch (text,
plurals, money); a phone-sized viewport (360×740) with no sideways scrolling; keyboard focus
on the skip link; axe-core (the ``axe.min.js`` that the PyPI package
``axe-playwright-python`` ships) finds no serious or critical WCAG 2.1 A/AA violation on any
page. With ``PATRON_SCREENSHOTS_DIR`` set, the screenshots of ``docs/`` are written there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.browser import (
    CHROMIUM,
    NO_CHROMIUM,
    PASSWORD,
    USERS,
    Site,
    _axe_violations,
    _log_in,
    _page,
    _patron,
    ensure_partners,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


def test_staff_log_in_and_out(site: Site, browser: Any) -> None:
    page = _page(browser)
    page.goto(site.base + "/")
    assert page.url.startswith(site.base + "/admin/login")
    page.fill("#email", USERS["staff"])
    page.fill("#password", "not the password")
    page.click("form[action='/admin/login'] button[type=submit]")
    assert page.locator("p.error").inner_text() == "The email or the password is wrong."
    page.fill("#password", PASSWORD)
    page.click("form[action='/admin/login'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url == site.base + "/admin"
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator(".who").inner_text() == USERS["staff"]
    # staff see no Users section, and the page refuses them
    assert page.locator("nav.sections a", has_text="Users").count() == 0
    page.goto(site.base + "/admin/users")
    assert page.locator("h1").inner_text() == "Not allowed"
    page.click("form.logout button")
    page.wait_for_load_state("networkidle")
    assert page.url == site.base + "/admin/login"
    page.goto(site.base + "/admin/members")
    assert page.url.startswith(site.base + "/admin/login?next=")
    page.context.close()


def test_the_dashboard_shows_tiles_and_the_sales_chart(site: Site, browser: Any) -> None:
    page = _page(browser)
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    _log_in(page, site)
    tiles = page.locator(".tiles .tile")
    assert tiles.count() == 16
    assert page.locator(".tile", has_text="Points pending now").count() == 1
    # what needs attention today: its four lists, each with items or "None."
    assert page.locator("#attention-title").inner_text() == "What needs attention today"
    assert page.locator(".tile", has_text="NPS").count() == 1
    assert page.locator(".tile", has_text="Members").first.locator(".value").inner_text() == "41"
    # plotly (served from the package) drew the bars
    page.wait_for_selector("#sales-chart .main-svg")
    assert page.locator("#sales-chart .bars path").count() > 0
    # and the orders' lines, members' and the others'
    page.wait_for_selector("#orders-chart .main-svg")
    assert page.locator("#orders-chart .scatterlayer .trace").count() == 2
    page.select_option("#period", "30")
    page.click("form.period button")
    page.wait_for_load_state("networkidle")
    assert "period=30" in page.url
    assert page.locator("#period").input_value() == "30"
    page.wait_for_selector("#sales-chart .main-svg")
    # plotly and htmx run under the pages' Content-Security-Policy (no inline scripts)
    assert problems == []
    page.context.close()


def test_member_search_and_the_360_view(site: Site, browser: Any) -> None:
    page = _page(browser)
    _log_in(page, site, role="staff", target="/admin/members")
    # htmx fetches the results as one types: no submit
    page.fill("#q", "kowal")
    row = page.locator("#results table.members a", has_text="Anna Kowalska")
    row.wait_for()
    assert page.url == site.base + "/admin/members"
    row.click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{site.base}/admin/members/{site.member_id}"
    assert page.locator("h1").inner_text() == "Anna Kowalska"
    facts = page.locator("dl.facts").inner_text()
    assert "C-TEST-1" in facts
    assert "+48601234567" in facts
    assert "Polski" in facts
    consents = page.locator("ul.consents").inner_text()
    assert "Email: granted on" in consents
    assert "SMS: not granted" in consents
    purchases = page.locator("table.purchases tbody tr")
    assert purchases.count() == 2
    newest = purchases.first.inner_text()
    assert "web-test-2" in newest
    assert "RUB860.00" in newest
    assert "Base rate" in newest  # the "why N points" breakdown
    assert page.locator("table.ledger tbody tr", has_text="Earned").count() == 2
    # no match says so
    page.goto(site.base + "/admin/members?q=nobody-like-this")
    assert "No member matches" in page.locator("#results").inner_text()
    # a tier alone lists its members (htmx again: the page does not change)
    page.fill("#q", "")
    page.select_option("#tier", "bronze")
    page.locator("#results table.members tbody tr").first.wait_for()
    tiers = page.locator("#results table.members tbody td:nth-child(5)").all_inner_texts()
    assert tiers
    assert set(tiers) == {"Bronze"}
    assert page.url == site.base + "/admin/members?q=nobody-like-this"
    page.context.close()


def test_the_language_switch_changes_text_plurals_and_money(site: Site, browser: Any) -> None:
    page = _page(browser)
    _log_in(page, site, target=f"/admin/members/{site.member_id}")
    english = page.locator("table.purchases tbody tr").first.inner_text()
    assert "RUB860.00" in english
    assert " points" in english
    page.click("nav.languages a[hreflang=ru]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("#purchases-title").inner_text() == "Покупки"
    russian = page.locator("table.purchases tbody tr").first.inner_text().replace("\xa0", " ")
    assert "860,00 ₽" in russian
    assert "баллов" in russian or "балла" in russian or "балл" in russian
    # the choice is remembered: the dashboard opens in Russian
    page.goto(site.base + "/admin")
    assert page.locator("h1").inner_text() == "Сводка"
    page.click("nav.languages a[hreflang=pl]")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Pulpit"
    liability = page.locator(".tile", has_text="Zobowiązanie").locator(".value").inner_text()
    assert liability.replace("\xa0", " ").endswith(" RUB")
    page.context.close()


def test_an_admin_blocks_and_unblocks_a_member(site: Site, browser: Any) -> None:
    page = _page(browser)
    member = f"{site.base}/admin/members/{site.member_id}"
    _log_in(page, site, role="staff", target=member.removeprefix(site.base))
    assert page.locator("form.actions").count() == 0  # staff may not block
    page.context.close()
    page = _page(browser)
    _log_in(page, site, target=member.removeprefix(site.base))
    page.fill("#reason", "card reported stolen")
    page.click("form.actions button")
    page.wait_for_load_state("networkidle")
    assert page.url == member + "?notice=blocked"
    assert page.locator("p.status").inner_text() == "Blocked: card reported stolen"
    page.click("form.actions button")  # now the unblock button
    page.wait_for_load_state("networkidle")
    assert page.url == member + "?notice=unblocked"
    assert page.locator("p.status").inner_text() == "Active"
    page.context.close()


def test_a_points_adjustment_shows_in_the_ledger(site: Site, browser: Any) -> None:
    page = _page(browser)
    member = f"/admin/members/{site.member_id}"
    _log_in(page, site, target=member)
    rows_before = page.locator("table.ledger tbody tr").count()
    page.fill("#points", "-5000000")  # beyond the bound: the browser does not send it
    page.fill("#adjust-reason", "typo")
    page.click("form[action$='/adjust'] button")
    assert page.evaluate("document.querySelector('#points').validity.valid") is False
    assert page.url == site.base + member
    assert page.locator("table.ledger tbody tr").count() == rows_before
    page.fill("#points", "150")
    page.fill("#adjust-reason", "sorry for the cold coffee")
    page.click("form[action$='/adjust'] button")
    page.wait_for_load_state("networkidle")
    assert "notice=adjusted" in page.url
    newest = page.locator("table.ledger tbody tr").first.inner_text()
    assert "Adjustment" in newest
    assert "150" in newest
    assert "sorry for the cold coffee" in newest
    assert page.locator("table.ledger tbody tr").count() == rows_before + 1
    page.context.close()


def test_a_program_validation_error_is_shown_in_the_editor(site: Site, browser: Any) -> None:
    page = _page(browser, bypass_csp=True)  # axe is injected as an inline script
    _log_in(page, site, target="/admin/program?lang=en")
    source = page.input_value("#program-text")
    assert "earning:" in source
    broken = source.replace("rounding: floor", "rounding: sideways", 1)
    line = broken.splitlines().index("    rounding: sideways") + 1
    page.fill("#program-text", broken)
    page.click("form.editor button[type=submit]:not([formaction])")
    page.wait_for_load_state("networkidle")
    assert page.locator("#problems-title").inner_text() == (
        "The file has 1 problem. Nothing was applied."
    )
    faulty = page.locator(f"#line-{line}")
    assert "sideways" in faulty.inner_text()
    assert "earning.base.rounding" in faulty.locator(".problem").inner_text()
    # the edited text stays in the editor, to be fixed
    assert "rounding: sideways" in page.input_value("#program-text")
    assert _axe_violations(page) == []
    page.context.close()


def test_an_admin_exports_and_erases_a_member(site: Site, browser: Any, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {site.key}"}
    body = {"external_id": "C-ERASE-1", "name": "Jan Nowak", "email": "jan@example.pl"}
    made = httpx.post(f"{site.base}/api/v1/members", json=body, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    member = f"/admin/members/{made.json()['id']}"
    page = _page(browser)
    _log_in(page, site, target=member)
    with page.expect_download() as download:
        page.click(f"form[action='{member}/export'] button")
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    exported = json.loads(saved.read_text())
    assert exported["profile"]["name"] == "Jan Nowak"
    assert exported["member_id"] == made.json()["id"]
    page.click(f"a[href='{member}/erase']")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Erase the member's personal data"
    page.fill("#confirm", "C-ERASE-2")  # not the card number: nothing happens
    page.click(f"form[action='{member}/erase'] button")
    page.wait_for_load_state("networkidle")
    assert "nothing was erased" in page.locator("p.error").inner_text()
    page.fill("#confirm", "C-ERASE-1")
    page.click(f"form[action='{member}/erase'] button")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"{member}?notice=erased")
    assert page.locator("h1").inner_text() == "(no name)"
    assert page.locator("p.status").inner_text() == "Blocked: erased"
    page.context.close()


def test_the_browser_language_is_the_default(site: Site, browser: Any) -> None:
    page = _page(browser, locale="ru-RU")
    page.goto(site.base + "/admin/login")
    assert page.locator("h1").inner_text() == "Вход в Patron"
    page.context.close()


def test_a_phone_sized_screen_needs_no_sideways_scrolling(site: Site, browser: Any) -> None:
    _ensure_scores(site)
    coupon = _a_coupon(site)
    ensure_partners(site)
    page = _page(browser, width=360, height=740)
    _log_in(page, site)
    member_ticket = _a_member_ticket(site)
    pages = ("/admin", "/admin/members?q=a", f"/admin/members/{site.member_id}", "/admin/tickets",
             "/admin/tickets?mine=1", f"/admin/tickets/{member_ticket}",
             "/admin/campaigns", "/admin/program", "/admin/reviews?show=all", "/admin/messages",
             "/admin/users", "/admin/keys", "/admin/webhooks", "/admin/segments", "/admin/feedback",
             "/admin/rewards", "/admin/rewards/DISC10/edit", "/admin/coupons?code={coupon}",
             "/admin/coupons/{coupon}/cancel", "/admin/members?flagged=true",
         "/admin/tickets?goodwill=waiting", "/admin/partners", "/admin/partners/kino")  # fmt: skip
    for target in pages:
        page.goto(site.base + target.replace("{coupon}", coupon))
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (target, width)
        assert page.locator("form.logout button").is_visible()
    page.context.close()


def test_the_skip_link_is_the_first_stop_and_visible_when_focused(site: Site, browser: Any) -> None:
    page = _page(browser)
    _log_in(page, site, target="/admin/members")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    box = page.locator("a.skip").bounding_box()
    assert box is not None
    assert box["x"] >= 0  # moved on screen while focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # past the header: the next stop is in the page's own content (the search box)
    assert page.evaluate("document.activeElement.id") == "q"
    page.context.close()


PAGES = ("/admin/login", "/admin", "/admin/members?q=a", "/admin/users", "{member}",
         "{member}/erase", "/admin/members?segment=champion",
         "/admin/campaigns", "/admin/campaigns/axe-check", "/admin/tickets",
         "/admin/tickets?mine=1", "{ticket}", "{member_ticket}", "/admin/program",
         "/admin/keys", "/admin/webhooks", "/admin/messages", "/admin/reviews?show=all",
         "/admin/segments", "/admin/feedback", "/admin/rewards", "/admin/rewards/new",
         "/admin/rewards/DISC10/edit", "/admin/coupons?code={coupon}",
         "/admin/coupons/{coupon}/cancel", "/admin/partners", "/admin/partners/kino")  # fmt: skip
# a campaign that ended long ago: it shows on the campaigns pages and changes no purchase of
# the shared demo store
ENDED = {
    "key": "axe-check",
    "name": {"en": "Spring tea", "ru": "Весенний чай"},
    "window": {"start": "2020-03-01", "end": "2020-03-31"},
    "effect": {"bonus_points": 50},
    "budget": {"points": 5000, "money": "100.00"},  # both bars on its page (axe)
}


def _a_ticket(site: Site) -> int:
    headers = {"Authorization": f"Bearer {site.key}"}
    body = {
        "channel": "email",
        "category": "other",
        "subject": "Axe check",
        "text": "A question about points.",
        "contact": "axe@example.com",
        "source_ref": "axe-check",
    }
    made = httpx.post(f"{site.base}/api/v1/tickets", json=body, headers=headers, timeout=30)
    assert made.status_code in (200, 201), made.text
    return int(made.json()["id"])


def _a_coupon(site: Site) -> str:
    """A coupon of the known member's (once: the adjustment's and the redemption's keys make
    a second call change nothing): 100 points added in the console, then DISC10 redeemed."""
    with httpx.Client(base_url=site.base, timeout=30) as client:
        login = client.get("/admin/login").text
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"email": USERS["admin"], "password": PASSWORD, "csrf_token": token}
        assert client.post("/admin/login", data=form).status_code == 303
        member = client.get(f"/admin/members/{site.member_id}").text
        token = member.split('name="csrf_token" value="')[1].split('"')[0]
        adjust = {"csrf_token": token, "points": "100", "reason": "axe", "key": "axe-coupon"}
        client.post(f"/admin/members/{site.member_id}/adjust", data=adjust)
        headers = {"Authorization": f"Bearer {site.key}"}
        body = {"member_id": site.member_id, "reward_code": "DISC10", "idempotency_key": "axe"}
        made = client.post("/api/v1/redemptions", json=body, headers=headers)
        assert made.status_code in (200, 201), made.text
        return str(made.json()["coupon_code"])


def _ensure_scores(site: Site) -> None:
    """The segments refresh of the daily job, so that the segments page shows its tables
    (a second refresh on the same day changes nothing)."""
    env = {**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"}
    _patron("analytics", "rfm", "--refresh", "--db", site.db_url, env=env)


def _a_member_ticket(site: Site) -> int:
    """A ticket of the demo's known member (goodwill can be given on it), made once."""
    headers = {"Authorization": f"Bearer {site.key}"}
    body = {
        "member_id": site.member_id,
        "channel": "store",
        "category": "product",
        "subject": "Broken cup",
        "text": "The cup I bought was cracked.",
        "source_ref": "goodwill-browser",
    }
    made = httpx.post(f"{site.base}/api/v1/tickets", json=body, headers=headers, timeout=30)
    assert made.status_code in (200, 201), made.text
    return int(made.json()["id"])


def _ensure_campaign(site: Site) -> None:
    headers = {"Authorization": f"Bearer {site.key}"}
    found = httpx.get(f"{site.base}/api/v1/campaigns/axe-check", headers=headers, timeout=30)
    if found.status_code == 404:
        made = httpx.post(f"{site.base}/api/v1/campaigns", json=ENDED, headers=headers, timeout=30)
        assert made.status_code == 201, made.text


@pytest.mark.parametrize("language", ["en", "ru"])
def test_axe_finds_no_serious_violation(site: Site, browser: Any, language: str) -> None:
    _ensure_campaign(site)
    _ensure_scores(site)
    ensure_partners(site)
    coupon = _a_coupon(site)
    ticket = _a_ticket(site)
    member_ticket = _a_member_ticket(site)
    page = _page(browser, bypass_csp=True)  # axe is injected as an inline script
    found: dict[str, list[dict[str, Any]]] = {}
    for target in PAGES:
        path = target.replace("{member}", f"/admin/members/{site.member_id}")
        path = path.replace("{ticket}", f"/admin/tickets/{ticket}")
        path = path.replace("{coupon}", coupon)
        path = path.replace("{member_ticket}", f"/admin/tickets/{member_ticket}")
        separator = "&" if "?" in path else "?"
        page.goto(f"{site.base}{path}{separator}lang={language}")
        page.wait_for_load_state("networkidle")
        found[path] = _axe_violations(page)
        if path == "/admin/login":
            _log_in(page, site)
    assert {path: violations for path, violations in found.items() if violations} == {}, json.dumps(
        found, indent=1
    )
    page.context.close()


def test_axe_does_find_violations_on_a_bad_page(browser: Any) -> None:
    """The check above can fail: a form field without a label and faint grey text."""
    page = _page(browser, bypass_csp=True)
    page.set_content(
        '<html lang="en"><title>t</title><main><input type="text">'
        '<p style="color:#aaa;background:#fff">faint text</p></main></html>'
    )
    found = {violation["id"] for violation in _axe_violations(page)}
    assert {"label", "color-contrast"} <= found
    page.context.close()


def test_screenshots(site: Site, browser: Any, tmp_path: Path) -> None:
    """The README's screenshots (written to ``PATRON_SCREENSHOTS_DIR`` when set)."""
    target = Path(os.environ.get("PATRON_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    member = f"/admin/members/{site.member_id}"
    shots = [
        ("console-dashboard-en.png", "/admin?lang=en", 1280, 900, True),
        ("console-dashboard-pl.png", "/admin?lang=pl", 1280, 900, False),
        ("console-dashboard-ru.png", "/admin?lang=ru", 1280, 900, False),
        ("console-member-ru.png", f"{member}?lang=ru", 1280, 900, True),
        ("console-member-phone-pl.png", f"{member}?lang=pl", 360, 740, False),
    ]
    for name, path, width, height, full in shots:
        page = _page(browser, width=width, height=height)
        _log_in(page, site, target=path)
        page.wait_for_load_state("networkidle")
        if path.startswith("/admin?"):
            page.wait_for_selector("#sales-chart .main-svg")
        page.screenshot(path=str(target / name), full_page=full)
        page.context.close()
        assert (target / name).stat().st_size > 10_000


def test_goodwill_above_the_threshold_waits_for_an_admin(
    site: Site, browser: Any, tmp_path: Path
) -> None:
    """A staff user assigns the ticket to themselves and asks 600 goodwill points (above the
    approval size of 500): waiting, no approve button for staff; an admin sees it, approves
    it (axe on the page with the buttons), and the points are credited. The 1280 px
    screenshot of the ticket page (``PATRON_SCREENSHOTS_DIR`` when set)."""
    target = Path(os.environ.get("PATRON_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    ticket = _a_member_ticket(site)
    url = f"/admin/tickets/{ticket}?lang=en"
    staff = _page(browser)
    _log_in(staff, site, role="staff", target=url)
    staff.select_option("#assignee", USERS["staff"])
    staff.click("form[action$='/assign'] button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert staff.locator("#assignee-now").inner_text() == USERS["staff"]
    staff.fill("#goodwill-points", "600")
    staff.fill("#goodwill-reason", "Cracked cup, twice")
    staff.click("form.goodwill-form button[type=submit]")
    staff.wait_for_load_state("networkidle")
    assert "wait for an admin's approval" in staff.locator("[role=status]").inner_text()
    row = staff.locator("table.goodwill tbody tr").last
    assert "waiting for an admin" in row.inner_text()
    assert row.locator("form[action$='/approve']").count() == 0
    staff.context.close()
    admin = _page(browser, bypass_csp=True)
    _log_in(admin, site, target=url)
    row = admin.locator("table.goodwill tbody tr").last
    assert row.locator("form[action$='/approve'] button").is_visible()
    for language in ("en", "ru"):
        admin.goto(f"{site.base}/admin/tickets/{ticket}?lang={language}")
        admin.wait_for_load_state("networkidle")
        assert _axe_violations(admin) == [], language
    admin.goto(site.base + url)
    admin.locator("#goodwill").scroll_into_view_if_needed()
    admin.screenshot(path=str(target / "console-ticket-goodwill-en.png"), full_page=True)
    admin.locator("table.goodwill tbody tr").last.locator("form[action$='/approve'] button").click()
    admin.wait_for_load_state("networkidle")
    assert "Approved" in admin.locator("[role=status]").inner_text()
    assert "credited" in admin.locator("table.goodwill tbody tr").last.inner_text()
    assert (target / "console-ticket-goodwill-en.png").stat().st_size > 10_000
    admin.context.close()
