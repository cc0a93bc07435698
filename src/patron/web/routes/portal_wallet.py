"""The member's cashback wallet in the portal (``/portal/wallet``), phone first: the balance
and the entries, newest first, 20 a page with a link to older ones, read through
:func:`patron.wallet.service.wallet_page` (the console only reads the wallet: credits, spends
and reversals are written by purchases and returns)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from patron.programs import service as program_service
from patron.wallet import service as wallet_service
from patron.web.auth import database_of, remember
from patron.web.member_auth import MemberVisit
from patron.web.messages import labels
from patron.web.routes.portal import formats
from patron.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = 20
# a cursor the page gave out: an entry id (as the API's ``next_cursor``)
Before = Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")]


@router.get("/portal/wallet")
async def wallet(request: Request, visit: MemberVisit, before: Before = None) -> Response:
    async with database_of(request).read() as session:
        active = await program_service.get_active_program(session)
        page = await wallet_service.wallet_page(
            session,
            member_id=visit.member.id,
            currency=active.program.currency,
            limit=PAGE,
            cursor=before,
        )
    context = {
        "wallet": page,
        "older": page.next_cursor,
        "first_page": before is None,
        "kinds": labels(request.state.language)["wallet_kind"],
        "fmt": formats(request, active),
    }
    return remember(request, render(request, "portal/wallet.html", context))
