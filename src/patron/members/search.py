"""Finding members for the staff console: by name, email, phone or external id, and tier
(and, through :func:`patron.segments.service.search_members`, RFM segment).

One text box and a tier: the text is matched, in any case, as part of the name or the email,
exactly as
the external id (a card number), and, when it holds at least four digits, as part of the
phone (``601 234`` finds ``+48601234567``). Matching by part is a scan of the program's
members on both databases (no index serves ``LIKE '%...%'``): fine for the thousands of
members of a shop, and bounded by ``limit``. A tier alone lists that tier's members.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.members import schemas
from patron.members.repository import MemberRepository
from patron.members.service import to_schema

MOST_RESULTS = 100
MOST_TEXT = 200
_NOT_DIGITS = re.compile(r"[^0-9]")


async def search_members(
    session: AsyncSession,
    *,
    program_id: int,
    text: str,
    tier: str | None = None,
    limit: int = 25,
    within: Select[Any] | None = None,
    flagged: bool = False,
) -> list[schemas.Member]:
    """Members of ``program_id`` matching ``text`` (see the module), of ``tier`` and among
    the member ids ``within`` selects (a domain above, e.g. an RFM segment) when given,
    newest first; ``flagged``: only members with an open abuse flag. An empty text finds the
    members of ``tier``, ``within`` or flagged, or nobody without any of them."""
    if not 1 <= limit <= MOST_RESULTS:
        raise InvalidInputError(
            f"limit must be from 1 to {MOST_RESULTS}",
            field="limit",
            params={"min": 1, "max": MOST_RESULTS},
        )
    words = text.strip()
    if len(words) > MOST_TEXT or "\x00" in words:
        raise InvalidInputError(
            f"the search text must have at most {MOST_TEXT} characters",
            field="q",
            params={"most": MOST_TEXT},
        )
    if not words and tier is None and within is None and not flagged:
        return []
    digits = _NOT_DIGITS.sub("", words)
    repository = MemberRepository(session)
    rows = await repository.search(
        program_id,
        words=words,
        digits=digits if len(digits) >= 4 else None,
        tier=tier,
        limit=limit,
        within=within,
        flagged=flagged,
    )
    consents = await repository.consents([member.id for member in rows])
    return [to_schema(member, consents[member.id]) for member in rows]
