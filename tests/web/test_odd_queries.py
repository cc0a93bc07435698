"""Every console and portal page, asked with odd values in each of its query parameters,
answers a page (HTML, no 5xx): the sweep that found the pages' JSON errors, kept as a net for
pages added later."""

from __future__ import annotations

import re
from contextlib import aclosing

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tests.web.conftest import Console
from tests.web.test_portal import _member, _portal

ODD = ["", "-1", "99999999999999999999999", "abc", "\u0661", "x" * 3000, "'\"<>", "1_0"]


def _get_pages(app: FastAPI, prefix: str) -> list[tuple[str, list[str]]]:
    """``(path with its parameters filled, query parameter names)`` of every GET page."""
    pages = []
    for context in iter_route_contexts(list(app.routes)):
        if not context.methods or "GET" not in context.methods:
            continue
        if not context.path.startswith(prefix) or context.path.startswith("/portal/login/"):
            continue
        dependant = getattr(context.route, "dependant", None)
        names = [param.name for param in dependant.query_params] if dependant else []
        pages.append((re.sub(r"\{[^}]+\}", "1", context.path), names))
    return pages


async def _sweep(client: httpx.AsyncClient, pages: list[tuple[str, list[str]]]) -> list[str]:
    wrong = []
    for path, names in pages:
        for name in names or [""]:
            for value in ODD if name else [""]:
                answer = await client.get(path, params={name: value} if name else {})
                kind = answer.headers.get("content-type", "")
                if answer.status_code >= 500 or "json" in kind:
                    wrong.append(f"{path}?{name}={value[:20]!r}: {answer.status_code} {kind}")
    return wrong


async def test_console_pages_answer_pages(console: Console) -> None:
    pages = _get_pages(console.app, "/admin")  # type: ignore[arg-type]
    assert len(pages) > 25
    client, _token = await console.logged_in("admin")
    async with aclosing(client):
        assert await _sweep(client, pages) == []


async def test_portal_pages_answer_pages(console: Console) -> None:
    pages = _get_pages(console.app, "/portal")  # type: ignore[arg-type]
    assert len(pages) > 8
    member_id = await _member(console, "m-odd", "Ola", 10)
    client, _token = await _portal(console, member_id)
    async with aclosing(client):
        assert await _sweep(client, pages) == []
