"""The ``cursor`` query parameter of every list (``patron.kit.pages``, docs/api.md "Lists and
pages"): a route takes ``cursor: PageCursor`` and its page class reads it
(``XPage.resume(cursor, after)``), so the route declares ``invalid_cursor`` by using it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from patron.api.responses import raises
from patron.kit.pages import CURSOR_PATTERN, InvalidCursorError


@raises(InvalidCursorError)
async def page_cursor(
    cursor: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN,
            description="the `next_cursor` of the page before; the same filters and `limit`",
        ),
    ] = None,
) -> str | None:
    return cursor


PageCursor = Annotated[str | None, Depends(page_cursor)]
