"""Errors raised before a page's own code runs (no such address, an id that is not a number, a
method the page does not take) answer the console's or the portal's error page in the page's
language, with the status the API gives; the API's own paths keep their JSON."""

from __future__ import annotations

from contextlib import aclosing

import pytest

from tests.web.conftest import Console
from tests.web.test_portal import _member, _portal


def _is_page(answer: object) -> bool:
    headers = getattr(answer, "headers", {})
    return str(headers.get("content-type", "")).startswith("text/html")


@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/admin/members/abc", 422, "This address is not valid"),
        ("/admin/members/1_0", 422, "This address is not valid"),
        ("/admin/tickets/abc", 422, "This address is not valid"),
        ("/admin/no-such-page", 404, "Page not found"),
        ("/admin/members/1/no-such-page", 404, "Page not found"),
    ],
)
async def test_console_errors_are_pages(
    console: Console, path: str, status: int, title: str
) -> None:
    client, _token = await console.logged_in("admin")
    async with aclosing(client):
        answer = await client.get(path)
        assert answer.status_code == status
        assert _is_page(answer), answer.text
        assert f"<h1>{title}</h1>" in answer.text
        assert 'href="/admin"' in answer.text  # the way back, in the console's frame
        assert "admin@example.com" in answer.text or "Log out" in answer.text


async def test_console_error_page_speaks_the_page_language(console: Console) -> None:
    client, _token = await console.logged_in("admin")
    async with aclosing(client):
        answer = await client.get("/admin/members/abc", headers={"accept-language": "ru"})
        assert answer.status_code == 422
        assert '<html lang="ru">' in answer.text
        assert "Адрес неверен" in answer.text
        polish = await client.get("/admin/nope?lang=pl")
        assert polish.status_code == 404
        assert "Nie ma takiej strony" in polish.text


async def test_a_method_the_page_does_not_take_is_a_page_with_allow(console: Console) -> None:
    client, _token = await console.logged_in("admin")
    async with aclosing(client):
        answer = await client.delete("/admin/members")
        assert answer.status_code == 405
        assert _is_page(answer)
        assert "GET" in answer.headers["allow"]


async def test_signed_out_a_bad_console_address_still_asks_to_log_in(console: Console) -> None:
    async with console.client() as client:
        answer = await client.get("/admin/members/abc")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/admin/login")
        unknown = await client.get("/admin/no-such-page")
        assert unknown.status_code == 404
        assert _is_page(unknown)
        assert "admin@example.com" not in unknown.text


async def test_portal_errors_are_portal_pages(console: Console) -> None:
    member_id = await _member(console, "m-err", "Ola", 0)
    client, _token = await _portal(console, member_id)
    async with aclosing(client):
        answer = await client.get("/portal/no-such-page", headers={"accept-language": "pl"})
        assert answer.status_code == 404
        assert _is_page(answer)
        assert '<html lang="pl">' in answer.text
        assert 'href="/portal"' in answer.text
    async with console.client() as anyone:
        unknown = await anyone.get("/s/a/b")
        assert unknown.status_code == 404
        assert _is_page(unknown)


async def test_the_api_keeps_its_json(console: Console) -> None:
    async with console.client() as client:
        for path in ("/api/v1/no-such-path", "/no-such-path"):
            answer = await client.get(path)
            assert answer.status_code in (401, 404)
            assert answer.headers["content-type"] == "application/json"
            assert answer.json()["error"]["code"] in ("not_found", "missing_api_key")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/u/" + "x" * 201, 422),  # longer than a token can be
        ("GET", "/u/a/b", 404),  # no page below a link
        ("PUT", "/u/abc", 405),
    ],
)
async def test_unsubscribe_link_errors_are_member_pages(
    console: Console, method: str, path: str, status: int
) -> None:
    """A message's unsubscribe link is a member's page too: a mangled one (cut, pasted with
    more after it) answers a page in the member's frame, not the API's JSON."""
    async with console.client() as anyone:
        answer = await anyone.request(method, path, headers={"accept-language": "ru"})
        assert answer.status_code == status
        assert _is_page(answer), answer.text
        assert '<html lang="ru">' in answer.text
        assert 'href="/admin"' not in answer.text
