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

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import _create_database, _drop_database
from tests.web.conftest import PASSWORD, USERS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium",
)
ROOT = Path(__file__).resolve().parents[2]
MEMBER = {
    "external_id": "C-TEST-1",
    "name": "Anna Kowalska",
    "email": "anna.kowalska@example.pl",
    "phone": "+48 601 234 567",
    "language": "pl",
    "consents": {"email": True, "sms": False},
}
SERIOUS = {"serious", "critical"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@dataclass(frozen=True)
class Site:
    base: str
    member_id: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _patron(*arguments: str, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "patron", *arguments],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return done.stdout


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("patron serve did not start")
        time.sleep(0.2)


def _known_member(base: str, key: str) -> int:
    """Enrol :data:`MEMBER` and record two purchases for her through the API."""
    headers = {"Authorization": f"Bearer {key}"}
    enrolled = httpx.post(f"{base}/api/v1/members", json=MEMBER, headers=headers, timeout=30)
    assert enrolled.status_code == 201, enrolled.text
    at = datetime.now(UTC) - timedelta(hours=2)
    for n, price in enumerate(("1234.50", "860.00"), start=1):
        purchase = {
            "external_id": f"web-test-{n}",
            "member_external_id": MEMBER["external_id"],
            "occurred_at": (at + timedelta(minutes=n)).isoformat(),
            "currency": "RUB",
            "total": price,
            "lines": [{"sku": "cof-1", "category": "coffee", "quantity": 1, "unit_price": price}],
        }
        answer = httpx.post(f"{base}/api/v1/purchases", json=purchase, headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
    return int(enrolled.json()["id"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A demo store (40 members, a year of purchases) with an admin and a staff user and a
    known member, served by ``patron serve`` on a free port."""
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    name = f"patron_web_{uuid.uuid4().hex[:8]}"
    url = (
        asyncio.run(_create_database(server, name))
        if server
        else str(tmp_path_factory.mktemp("web") / "demo.db")
    )
    env = {**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"}
    key = _patron(
        "demo", "--members", "40", "--years", "1", "--seed", "7", "--no-serve", "--db", url,
        env=env,
    ).strip().splitlines()[-1]  # fmt: skip
    for role, email in USERS.items():
        _patron(
            "users", "create", "--email", email, "--role", role, "--password-stdin", "--db", url,
            env=env, stdin=PASSWORD + "\n",
        )  # fmt: skip
    port = _free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "patron", "serve", "--db", url, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield Site(base=base, member_id=_known_member(base, key))
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        if server:
            asyncio.run(_drop_database(server, name))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


def _page(
    browser: Any,
    *,
    width: int = 1280,
    height: int = 900,
    locale: str = "en-GB",
    bypass_csp: bool = False,
) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale=locale, bypass_csp=bypass_csp
    )
    return context.new_page()


def _log_in(page: Any, site: Site, role: str = "admin", target: str = "/admin") -> None:
    page.goto(site.base + target)
    page.fill("#email", USERS[role])
    page.fill("#password", PASSWORD)
    page.click("form[action='/admin/login'] button[type=submit]")
    page.wait_for_load_state("networkidle")


def _axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.1 A/AA violations axe-core finds on the page."""
    script = (resources.files("axe_playwright_python") / "axe.min.js").read_text("utf-8")
    page.add_script_tag(content=script)
    results = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
        if violation["impact"] in SERIOUS
    ]


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
    assert tiles.count() == 15
    assert page.locator(".tile", has_text="NPS").count() == 1
    assert page.locator(".tile", has_text="Members").first.locator(".value").inner_text() == "41"
    # plotly (served from the package) drew the bars
    page.wait_for_selector("#sales-chart .main-svg")
    assert page.locator("#sales-chart .bars path").count() > 0
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


def test_the_browser_language_is_the_default(site: Site, browser: Any) -> None:
    page = _page(browser, locale="ru-RU")
    page.goto(site.base + "/admin/login")
    assert page.locator("h1").inner_text() == "Вход в Patron"
    page.context.close()


def test_a_phone_sized_screen_needs_no_sideways_scrolling(site: Site, browser: Any) -> None:
    page = _page(browser, width=360, height=740)
    _log_in(page, site)
    for target in ("/admin", "/admin/members?q=a", f"/admin/members/{site.member_id}"):
        page.goto(site.base + target)
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


PAGES = ("/admin/login", "/admin", "/admin/members?q=a", "/admin/users", "{member}")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_axe_finds_no_serious_violation(site: Site, browser: Any, language: str) -> None:
    page = _page(browser, bypass_csp=True)  # axe is injected as an inline script
    found: dict[str, list[dict[str, Any]]] = {}
    for target in PAGES:
        path = target.replace("{member}", f"/admin/members/{site.member_id}")
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
