"""Paging through a list by its cursor (docs/api.md, "Lists and pages"), for the tests of
each list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

Get = Callable[[dict[str, Any]], Awaitable[httpx.Response]]


async def walk(
    get: Get,
    limit: int,
    *,
    key: str = "id",
    page_of: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: body,
) -> list[Any]:
    """The ``key`` of every item, following ``next_cursor`` from the first page to the
    last with ``limit`` per page."""
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await get(params)
        assert response.status_code == 200, response.text
        page = page_of(response.json())
        assert len(page["items"]) <= limit
        seen += [item[key] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never came to an end")


async def assert_each_once(get: Get, *, key: str = "id", page_of: Any = None) -> list[Any]:
    """Walk the list with 1, 2 and 3 items per page: each walk returns every item of the
    whole list (one page of 200) exactly once, in its order."""
    shape = page_of or (lambda body: body)
    response = await get({"limit": 200})
    whole = shape(response.json())
    assert whole["next_cursor"] is None
    expected = [item[key] for item in whole["items"]]
    for limit in (1, 2, 3):
        assert await walk(get, limit, key=key, page_of=shape) == expected, limit
    return expected
