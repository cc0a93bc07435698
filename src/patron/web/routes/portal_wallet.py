"""The member's cashback wallet in the portal (``/portal/wallet``), phone first: the balance
and the entries, newest first, 20 a page with a link to older ones, read through
:func:`patron.wallet.service.wallet_page` (the console only reads the wallet: credits, spends
and reversals are written by purchases and returns)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from patron.kit.pages import CURSOR_PATTERN, InvalidCursorError
from patron.programs import service as program_service
from patron.wallet import service as wallet_service
from patron.web.auth import database_of, remember
from patron.web.member_auth import MemberVisit
from patron.web.messages import labels
from patron.web.routes.portal import formats
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = 20
# a cursor the page gave out (the wallet page's ``next_cursor``, as the API's)
Before = Annotated[str | None, Query(pattern=CURSOR_PATTERN)]


@router.get("/portal/wallet")
async def wallet(request: Request, visit: MemberVisit, before: Before = None) -> Response:
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        try:
            page = await wallet_service.wallet_page(
                session,
                member_id=visit.member.id,
                currency=active.program.currency,
                limit=PAGE,
                cursor=before,
            )
        except InvalidCursorError:  # an edited address: the newest entries instead
            return RedirectResponse("/portal/wallet", status_code=303)
    context = {
        "wallet": page,
        "older": page.next_cursor,
        "first_page": before is None,
        "kinds": labels(request.state.language)["wallet_kind"],
        "fmt": formats(request, active),
    }
    return remember(request, render(request, "portal/wallet.html", context))
