"""The console's partners pages in Chromium, on a phone (360×740) and a desktop (1280×900):
from the partners list to one partner's settlement, a month picked and days given, the
figures those of ``GET /api/v1/partners/{id}/settlement`` for the instants the page names;
no sideways scrolling on the phone; axe-core finds no serious or critical violation. A
partner key made on the keys page acts for its partner alone."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.web.browser import (
    CHROMIUM,
    NO_CHROMIUM,
    Site,
    _axe_violations,
    _log_in,
    _page,
    ensure_partners,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

SIZES = [(360, 740), (1280, 900)]


def _api(site: Site, path: str, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or site.key}"}
    return httpx.get(f"{site.base}{path}", headers=headers, timeout=30)


def _figures(page: Any) -> dict[str, str]:
    terms = page.locator("dl.settlement dt").all_inner_texts()
    values = page.locator("dl.settlement dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


def _checked(page: Any, width: int) -> None:
    """No sideways scrolling on a phone, no serious axe violation."""
    if width <= 360:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    assert _axe_violations(page) == [], page.url


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_partners_settlement_shows_the_apis_figures(
    site: Site, browser: Any, width: int, height: int
) -> None:
    ensure_partners(site)
    page = _page(browser, width=width, height=height, bypass_csp=True)  # axe is inline
    _log_in(page, site, target="/admin/partners?lang=en")
    assert page.locator("h1").inner_text() == "Partners"
    assert page.locator("nav.sections a[aria-current=page]").inner_text() == "Partners"
    _checked(page, width)
    page.locator("table a", has_text="Kino Polar").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("Kino Polar")
    _checked(page, width)
    # the month before, then this month again with the picker, then the same days by date
    month = page.locator("#period-month").input_value()
    page.get_by_role("link", name="Previous month").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#period-month").input_value() < month
    page.fill("#period-month", month)
    page.get_by_role("button", name="Show the month").click()
    page.wait_for_load_state("networkidle")
    assert f"month={month}" in page.url
    assert page.locator("#period-month").input_value() == month
    shown = _figures(page)
    request = page.locator("code", has_text="/api/v1/partners/kino/settlement").inner_text()
    api = _api(site, request.removeprefix("GET ")).json()
    assert shown["Points issued"] == str(api["points_issued"])
    assert shown["Points redeemed"] == str(api["points_redeemed"])
    assert api["points_issued"] >= 100
    assert api["points_redeemed"] >= 30
    assert re.sub(r"\D", "", shown["Program owes the partner"]) == str(api["owed_to_partner"])
    first = page.locator("#period-from").input_value()
    last = page.locator("#period-to").input_value()
    page.fill("#period-from", first)
    page.fill("#period-to", last)
    page.get_by_role("button", name="Show these days").click()
    page.wait_for_load_state("networkidle")
    assert f"from={first}" in page.url
    assert _figures(page) == shown
    _checked(page, width)
    page.context.close()


def test_a_partner_key_made_on_the_keys_page_acts_for_its_partner_alone(
    site: Site, browser: Any
) -> None:
    ensure_partners(site)
    page = _page(browser, width=360, height=740)
    _log_in(page, site, target="/admin/keys?lang=en")
    page.fill("#key-name", "kino till (browser)")
    page.select_option("#key-role", "partner")
    page.select_option("#key-partner", "kino")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_load_state("networkidle")
    key = page.locator("#new-key").input_value()
    assert key
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    own = _api(site, "/api/v1/partners", key)
    assert [partner["id"] for partner in own.json()] == ["kino"]
    other = _api(site, "/api/v1/partners/cafe-nord/settlement?from=2026-01-01&to=2027-01-01", key)
    assert (other.status_code, other.json()["error"]["code"]) == (403, "partner_forbidden")
    page.goto(f"{site.base}/admin/keys?lang=en")
    assert page.get_by_role("link", name="kino").count() >= 1
    page.context.close()
