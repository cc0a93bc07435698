"""What the browser tests share (``test_browser.py``, the console; ``test_portal_browser.py``,
the member portal): one demo store served by ``patron serve`` for the whole session, one
Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright), pages and axe-core."""

from __future__ import annotations

import asyncio
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
from tests.partners.helpers import PARTNERS

PASSWORD = "a long test password"
USERS = {"admin": "boss@shop.example", "staff": "desk@shop.example"}

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium"
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
    db_url: str  # for ``patron`` commands against the served store
    key: str  # the demo's admin API key


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


@pytest.fixture(scope="session")
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
        yield Site(base=base, member_id=_known_member(base, key), db_url=url, key=key)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        if server:
            asyncio.run(_drop_database(server, name))


# per module: while Playwright runs, its event loop holds the thread (no asyncio.run)
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


def ensure_partners(site: Site) -> None:
    """The demo program with two partners, and at Kino a purchase (100 points) and a payment
    (30 points) of the known member, made once (the partner's ids make a retry change
    nothing); the program's own rules are untouched."""
    headers = {"Authorization": f"Bearer {site.key}"}
    with httpx.Client(base_url=f"{site.base}/api/v1", headers=headers, timeout=30) as api:
        source = api.get("/program").json()["source_yaml"]
        if "\npartners:" not in source:
            text = (source.rstrip() + "\n" + PARTNERS).encode()
            yaml = {"Content-Type": "application/yaml"}
            applied = api.put("/program", content=text, headers=yaml)
            assert applied.status_code == 200, applied.text
        at = (datetime.now(UTC) - timedelta(days=20)).isoformat()
        card = MEMBER["external_id"]
        bought = {"external_id": "axe-1", "member_external_id": card, "amount": "300.00",
                  "occurred_at": at}  # fmt: skip
        made = api.post("/partners/kino/purchases", json=bought)
        assert made.status_code in (200, 201), made.text
        paid = {"external_id": "axe-1", "member_external_id": card, "points": 30}
        made = api.post("/partners/kino/payments", json=paid)
        assert made.status_code in (200, 201), made.text
