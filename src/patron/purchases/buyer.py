"""The member a purchase names: found (by id or external id), its account locked in the one
order concurrent writers use, and refused when blocked or past the velocity limit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.ledger.repository import LockedAccount, lock_account_for_update
from patron.members import service as member_service
from patron.members.schemas import MemberState
from patron.programs.schemas import ActiveProgram
from patron.purchases.abuse import check_purchase_velocity
from patron.purchases.group_lock import take_locked
from patron.purchases.repository import lock_member_for_purchase
from patron.purchases.schemas import PurchaseCreate


async def resolve_member(
    session: AsyncSession, *, program_id: int, member_id: int | None, member_external_id: str | None
) -> MemberState | None:
    """The member a purchase or quote names (by id or external id), or ``None`` for none."""
    if member_id is None and member_external_id is None:
        return None
    return await member_service.get_member_state(
        session, program_id=program_id, member_id=member_id, external_id=member_external_id
    )


def lock_order(data: PurchaseCreate) -> str:
    """Where a purchase goes in the one order in which concurrent writers lock members'
    accounts (on PostgreSQL): purchases without a member first, then by the member's external
    id (in code point order), then by member id. A commit group runs its purchases in this
    order and a batch locks all its members up front in it
    (:func:`patron.purchases.repository.lock_members_in_order`), so two of them never wait on
    each other in a cycle, except for a member named by id in one and by external id in the
    other (each then retries the loser of the deadlock)."""
    if data.member_id is not None:
        return f"id:{data.member_id:020d}"
    if data.member_external_id is not None:
        return f"external:{data.member_external_id}"
    return ""


async def lock_buyer(
    session: AsyncSession, active: ActiveProgram, data: PurchaseCreate, now: datetime | None
) -> tuple[MemberState | None, LockedAccount | None]:
    """The purchase's member (or ``None``) with its account locked (its lifetime points and
    debt as locked), refused when blocked (``member_blocked``) or past the program's
    ``abuse.max_purchases_per_hour`` (``velocity_exceeded``, :mod:`patron.purchases.abuse`;
    not checked without ``now``).

    Locking first serialises concurrent retries of one member's purchase: the second finds
    the first's row. Purchases without a member rely on the unique key alone."""
    if data.member_id is None and data.member_external_id is None:
        return None, None
    found = None
    if data.member_id is None and data.member_external_id is not None:
        # locked already by the commit group's first statement (purchases.group_lock)?
        found = take_locked(session, active.program_id, data.member_external_id)
    if found is None:
        found = await lock_member_for_purchase(
            session, active.program_id, data.member_id, data.member_external_id
        )
    if found is None:  # raises the precise not-found error
        state = await resolve_member(
            session,
            program_id=active.program_id,
            member_id=data.member_id,
            member_external_id=data.member_external_id,
        )
        assert state is not None
        found = state, await lock_account_for_update(session, state.id)
    member_service.ensure_active(found[0])
    if now is not None and active.program.abuse.max_purchases_per_hour is not None:
        await check_purchase_velocity(
            session, active=active, member_id=found[0].id, external_id=data.external_id, now=now
        )
    return found
