"""``GET /members/{id}/wallet``: the member's cashback wallet, its balance and its entries
(issue 12, part 5). Who may read it is the member's ledger's rule: admin, staff, and a till
for the member it identified (:mod:`patron.api.till_identity`).
``POST /members/{id}/wallet/adjust``: an admin's correction, audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from patron.api.deps import Admin, Now, Reader, ReadSession, WriteSession
from patron.api.paging import PageCursor
from patron.api.params import PathId
from patron.api.responses import raises
from patron.api.till_identity import TillIdentityDep
from patron.kit.errors import InvalidInputError
from patron.kit.strict import DIGITS
from patron.members import service as member_service
from patron.members.errors import MemberNotFoundError
from patron.programs.errors import ProgramNotFoundError
from patron.programs.service import get_active_program
from patron.wallet import service as wallet_service
from patron.wallet.adjust import adjust_wallet
from patron.wallet.errors import WalletAdjustmentBelowZeroError, WalletEntryConflictError
from patron.wallet.schemas import WalletAdjust, WalletAdjusted, WalletPage

router = APIRouter(prefix="/members", tags=["wallet"])

MemberId = PathId


@router.get("/{member_id}/wallet", response_model=WalletPage)
@raises(ProgramNotFoundError, MemberNotFoundError)
async def wallet(
    member_id: MemberId,
    session: ReadSession,
    _: Reader,
    till: TillIdentityDep,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=500), DIGITS] = 50,
    # the kit's cursor, or the last id in 1 to 18 digits as before (docs/api.md)
    cursor: PageCursor = None,
) -> WalletPage:
    """The member's wallet balance (money, in the program's currency) and its entries newest
    first; pass ``next_cursor`` back as ``cursor``."""
    await till.check(session, member_id, now=now)
    await member_service.get_member(session, member_id=member_id)
    active = await get_active_program(session)
    return await wallet_service.wallet_page(
        session,
        member_id=member_id,
        currency=active.program.currency,
        limit=limit,
        cursor=cursor,
    )


@router.post("/{member_id}/wallet/adjust", response_model=WalletAdjusted)
@raises(
    ProgramNotFoundError,
    MemberNotFoundError,
    InvalidInputError,
    WalletAdjustmentBelowZeroError,
    WalletEntryConflictError,
)
async def adjust(
    member_id: MemberId, data: WalletAdjust, session: WriteSession, _: Admin, now: Now
) -> WalletAdjusted:
    """Correct the member's wallet by a signed ``amount`` (a decimal string in the program's
    currency) with a ``reason``, once per ``idempotency_key``: the same key again answers the
    entry written before (``created`` false). Below 0: 409 ``wallet_adjustment_below_zero``."""
    active = await get_active_program(session)
    return await adjust_wallet(
        session,
        program_id=active.program_id,
        currency=active.program.currency,
        member_id=member_id,
        data=data,
        now=now,
    )
