"""The member portal in a real browser on a phone-sized screen (360×740): ``patron portal
link`` → the portal → redeem a reward → the coupon with its QR code; the language switch
(text, plurals, money); no sideways scrolling; keyboard focus; axe-core on every portal page
in English and Russian. Shares the demo store and Chromium of ``tests/web/browser.py``."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.browser import CHROMIUM, NO_CHROMIUM, Site, _axe_violations, _page, _patron

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
PORTAL_PAGES = ("/portal", "/portal/rewards", "/portal/coupons", "/portal/card",
                "/portal/history", "/portal/surveys", "/portal/referral",
                "/portal/profile", "/portal/wallet", "/join")  # fmt: skip


@pytest.fixture(scope="module")
def member_id(site: Site) -> int:
    """A member with points available: a purchase 30 days ago (past its pending days)."""
    headers = {"Authorization": f"Bearer {site.key}"}
    member = {"external_id": "C-PORTAL-1", "name": "Jan Nowak", "consents": {"email": True}}
    enrolled = httpx.post(f"{site.base}/api/v1/members", json=member, headers=headers, timeout=30)
    assert enrolled.status_code == 201, enrolled.text
    at = datetime.now(UTC) - timedelta(days=30)
    purchase = {
        "external_id": "portal-test-1",
        "member_external_id": "C-PORTAL-1",
        "occurred_at": at.isoformat(),
        "currency": "RUB",
        "total": "4321.00",
        "lines": [{"sku": "cof-1", "category": "coffee", "quantity": 1, "unit_price": "4321.00"}],
    }
    answer = httpx.post(f"{site.base}/api/v1/purchases", json=purchase, headers=headers, timeout=30)
    assert answer.status_code == 201, answer.text
    return int(enrolled.json()["id"])


def _login_link(site: Site, member_id: int) -> str:
    env = {**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"}
    output = _patron(
        "portal", "link", str(member_id), "--db", site.db_url, "--base-url", site.base, env=env
    )
    url = output.strip().splitlines()[-1]
    assert url.startswith(site.base + "/portal/login/")
    return url


def _phone(browser: Any, **options: Any) -> Any:
    return _page(browser, width=360, height=740, **options)


def _logged_in(browser: Any, site: Site, member_id: int, **options: Any) -> Any:
    page = _phone(browser, **options)
    page.goto(_login_link(site, member_id))
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url == site.base + "/portal"
    return page


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, (page.url, width)


def test_link_portal_redeem_and_the_coupons_qr(site: Site, browser: Any, member_id: int) -> None:
    page = _logged_in(browser, site, member_id)
    assert page.locator("h1").inner_text() == "Hello, Jan Nowak"
    available = page.locator("#available").inner_text()
    assert available.endswith(" points")
    before = int(available.split()[0].replace(",", ""))
    assert before >= 100
    assert "to Bronze" in page.locator("#tier-progress").inner_text()
    _no_sideways_scroll(page)
    page.goto(site.base + "/portal/rewards")
    _no_sideways_scroll(page)
    page.click("#reward-DISC10 button")
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(site.base + "/portal/coupons?new=")
    assert page.locator("p.notice").inner_text() == "Redeemed: show this coupon at the till."
    fresh = page.locator("li.coupon.fresh")
    code = fresh.locator(".code strong").inner_text()
    assert len(code) == 10
    qr = fresh.locator("figure.qr svg")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] >= 120
    assert fresh.locator("figure.qr").get_attribute("aria-label") == f"QR code of coupon {code}"
    _no_sideways_scroll(page)
    # reloading the coupon page issues nothing new: the balance fell by the reward's cost once
    page.reload()
    page.goto(site.base + "/portal")
    after = int(page.locator("#available").inner_text().split()[0].replace(",", ""))
    assert after == before - 100
    for path in PORTAL_PAGES:
        page.goto(site.base + path)
        page.wait_for_load_state("networkidle")
        _no_sideways_scroll(page)
    page.context.close()


def test_the_card_page_shows_a_qr_code_that_a_till_reads(
    site: Site, browser: Any, member_id: int
) -> None:
    page = _logged_in(browser, site, member_id)
    page.click("nav.portal-nav a[href='/portal/card']")
    page.wait_for_load_state("networkidle")
    assert page.url == site.base + "/portal/card"
    assert page.locator("h1").inner_text() == "My card"
    assert page.locator("#card-number strong").inner_text() == "C-PORTAL-1"
    assert page.locator("figure.qr svg").is_visible()
    _no_sideways_scroll(page)
    token = page.locator("figure.qr").get_attribute("data-token")
    page.context.close()
    admin = {"Authorization": f"Bearer {site.key}"}
    till = httpx.post(
        f"{site.base}/api/v1/keys", json={"name": "card-till", "role": "pos"}, headers=admin
    )
    assert till.status_code == 201, till.text
    found = httpx.get(
        f"{site.base}/api/v1/members/by-token/{token}",
        headers={"Authorization": f"Bearer {till.json()['key']}"},
        timeout=30,
    )
    assert found.status_code == 200, found.text
    assert (found.json()["id"], found.json()["external_id"]) == (member_id, "C-PORTAL-1")


def test_a_used_link_is_refused(site: Site, browser: Any, member_id: int) -> None:
    url = _login_link(site, member_id)
    first, second = _phone(browser), _phone(browser)
    first.goto(url)
    second.goto(url)  # opening the page spends nothing
    first.click("main form button[type=submit]")
    first.wait_for_load_state("networkidle")
    assert first.url == site.base + "/portal"
    second.click("main form button[type=submit]")
    second.wait_for_load_state("networkidle")
    assert second.locator("h1").inner_text() == "The link does not work"
    second.goto(site.base + "/portal")
    assert "ask at the till for a login link" in second.locator("main").inner_text()
    first.context.close()
    second.context.close()


def test_the_language_switch_changes_text_plurals_and_money(
    site: Site, browser: Any, member_id: int
) -> None:
    page = _logged_in(browser, site, member_id)
    page.goto(site.base + "/portal/history")
    english = page.locator("li.purchase").first.inner_text()
    assert "RUB4,321.00" in english
    assert " points earned" in english
    page.click("nav.languages a[hreflang=ru]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("h1").inner_text() == "Мои покупки"
    russian = page.locator("li.purchase").first.inner_text().replace("\xa0", " ")
    assert "4 321,00 ₽" in russian
    assert any(word in russian for word in (" балл", " балла", " баллов"))
    # the choice is remembered: the balance page opens in Russian
    page.goto(site.base + "/portal")
    assert page.locator(".portal-nav a[aria-current=page]").inner_text() == "Баланс"
    page.click("nav.languages a[hreflang=pl]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".portal-nav a[aria-current=page]").inner_text() == "Saldo"
    assert "punkt" in page.locator("#available").inner_text()
    page.context.close()


def test_keyboard_focus_is_visible(site: Site, browser: Any, member_id: int) -> None:
    page = _logged_in(browser, site, member_id)
    page.goto(site.base + "/portal/rewards?lang=en")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    for _ in range(12):  # on through the page to the first redeem button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.context.close()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_axe_finds_no_serious_violation_on_portal_pages(
    site: Site, browser: Any, member_id: int, language: str
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    anonymous = _phone(browser, bypass_csp=True)
    link = _login_link(site, member_id)
    # the link's page, the signed-out page, asking for a link by email (and its answer)
    for url in (link, site.base + "/portal", site.base + "/portal/login"):
        anonymous.goto(f"{url}?lang={language}")
        found[url.removeprefix(site.base)] = _axe_violations(anonymous)
    anonymous.fill("#email", "nobody@example.com")
    anonymous.click("form button[type=submit]")
    anonymous.wait_for_load_state("networkidle")
    assert anonymous.locator("[role=status]").count() == 1
    found["/portal/login (sent)"] = _axe_violations(anonymous)
    anonymous.context.close()
    page = _logged_in(browser, site, member_id, bypass_csp=True)  # axe is an inline script
    for path in PORTAL_PAGES:
        page.goto(f"{site.base}{path}?lang={language}")
        page.wait_for_load_state("networkidle")
        found[path] = _axe_violations(page)
    assert {path: violations for path, violations in found.items() if violations} == {}, json.dumps(
        found, indent=1
    )
    page.context.close()


def test_portal_screenshot(site: Site, browser: Any, member_id: int, tmp_path: Path) -> None:
    """The README's phone screenshot of the portal (``PATRON_SCREENSHOTS_DIR`` when set)."""
    target = Path(os.environ.get("PATRON_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    page = _logged_in(browser, site, member_id)
    page.goto(site.base + "/portal?lang=en")
    page.screenshot(path=str(target / "portal-phone-en.png"), full_page=False)
    page.goto(site.base + "/portal/rewards?lang=ru")
    page.click("#reward-DISC10 button")  # a fresh coupon, marked, on the coupons page
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")  # the address's #coupon-... scrolled down to it
    page.screenshot(path=str(target / "portal-coupons-phone-ru.png"), full_page=False)
    for name in ("portal-phone-en.png", "portal-coupons-phone-ru.png"):
        assert (target / name).stat().st_size > 10_000
    page.context.close()


SURVEY = {
    "key": "portal-visit",
    "name": "Your visit",
    "points": 25,
    "questions": [
        {"id": "nps", "kind": "nps", "text": {"en": "Would you recommend us?", "ru": "Советуете?"}},
        {"id": "why", "kind": "text", "text": {"en": "What to improve?", "ru": "Что улучшить?"},
         "required": False},
    ],
}  # fmt: skip


def _invite(site: Site, member_id: int, ref: str) -> int:
    """An invitation of the member to :data:`SURVEY` (made once) through the API."""
    headers = {"Authorization": f"Bearer {site.key}"}
    made = httpx.post(f"{site.base}/api/v1/surveys", json=SURVEY, headers=headers, timeout=30)
    assert made.status_code in (201, 409), made.text
    body = {"member_ids": [member_id], "source_ref": ref}
    url = f"{site.base}/api/v1/surveys/{SURVEY['key']}/invitations"
    invited = httpx.post(url, json=body, headers=headers, timeout=30)
    assert invited.status_code == 200, invited.text
    return int(invited.json()["invitations"][0]["id"])


def _available(page: Any, site: Site) -> int:
    page.goto(site.base + "/portal?lang=en")
    return int(page.locator("#available").inner_text().split()[0].replace(",", ""))


def test_a_survey_is_answered_in_the_portal_once(site: Site, browser: Any, member_id: int) -> None:
    invitation = _invite(site, member_id, "browser-answer")
    page = _logged_in(browser, site, member_id)
    before = _available(page, site)
    page.click("nav.portal-nav a[href='/portal/surveys']")
    page.click(f"#survey-{invitation} a.button")
    assert page.url == f"{site.base}/portal/surveys/{invitation}"
    _no_sideways_scroll(page)
    page.check("input[name=nps][value='9']")
    page.fill("textarea[name=why]", "More oat milk")
    page.click("form.survey button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert (
        page.locator("#survey-points").inner_text() == "25 points have been added to your account."
    )
    page.go_back()  # the form's page again: no form any more (pages are not cached)
    page.wait_for_load_state("networkidle")
    assert page.locator("form.survey").count() == 0
    assert "You have answered this survey already." in page.locator("main").inner_text()
    assert _available(page, site) == before + 25
    page.context.close()


def test_the_referral_link_is_copied_where_there_is_no_share_sheet(
    site: Site, browser: Any, member_id: int
) -> None:
    page = _logged_in(browser, site, member_id)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page.click("nav.portal-nav a[href='/portal/referral']")
    page.wait_for_load_state("networkidle")
    _no_sideways_scroll(page)
    link = page.locator("#referral-link").input_value()
    assert page.locator("#referral-code").inner_text() in link
    has_share = page.evaluate("typeof navigator.share === 'function'")
    assert page.locator("[data-share-button]").is_visible() == has_share
    page.click("[data-copy-button]")
    page.wait_for_function("document.querySelector('[data-share-status]').textContent !== ''")
    assert page.locator("[data-share-status]").inner_text() == "The link is copied."
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.context.close()


def test_portal_surveys_and_referral_screenshots(
    site: Site, browser: Any, member_id: int, tmp_path: Path
) -> None:
    """Phone screenshots of the open surveys and the referral page (``PATRON_SCREENSHOTS_DIR``
    when set), and axe on a survey's form."""
    target = Path(os.environ.get("PATRON_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    invitation = _invite(site, member_id, "browser-screenshot")
    page = _logged_in(browser, site, member_id, bypass_csp=True)
    page.goto(site.base + "/portal/surveys?lang=pl")
    page.screenshot(path=str(target / "portal-surveys-phone-pl.png"), full_page=True)
    for language in ("en", "ru"):
        page.goto(f"{site.base}/portal/surveys/{invitation}?lang={language}")
        page.wait_for_load_state("networkidle")
        _no_sideways_scroll(page)
        assert _axe_violations(page) == [], language
    page.goto(site.base + "/portal/referral?lang=ru")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(target / "portal-referral-phone-ru.png"), full_page=True)
    for name in ("portal-surveys-phone-pl.png", "portal-referral-phone-ru.png"):
        assert (target / name).stat().st_size > 10_000
    page.context.close()


def test_a_survey_link_is_answered_without_logging_in(
    site: Site, browser: Any, member_id: int, tmp_path: Path
) -> None:
    """The emailed link (``/s/{token}``) on a phone, with no member session: the portal's form
    in Russian, axe-clean, no sideways scroll; answered once, then "already answered"."""
    headers = {"Authorization": f"Bearer {site.key}"}
    made = httpx.post(f"{site.base}/api/v1/surveys", json=SURVEY, headers=headers, timeout=30)
    assert made.status_code in (201, 409), made.text
    body = {"member_ids": [member_id], "source_ref": "browser-link"}
    url = f"{site.base}/api/v1/surveys/{SURVEY['key']}/invitations"
    invited = httpx.post(url, json=body, headers=headers, timeout=30)
    assert invited.status_code == 200, invited.text
    link = site.base + invited.json()["invitations"][0]["link"]
    page = _phone(browser, bypass_csp=True)  # axe is injected as a script
    page.goto(link + "?lang=ru")
    page.wait_for_load_state("networkidle")
    _no_sideways_scroll(page)
    assert _axe_violations(page) == []
    target = Path(os.environ.get("PATRON_SCREENSHOTS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / "survey-link-phone-ru.png"), full_page=True)
    assert page.locator("nav.portal-nav").count() == 0  # no member session, no portal menu
    page.check("input[name=nps][value='9']")
    page.click("form.survey button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Спасибо!"
    page.goto(link + "?lang=ru")
    assert page.locator("h1").inner_text() == "Уже отвечено"
    page.context.close()
