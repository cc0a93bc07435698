"""Coupons after issue: validate at checkout, consume once, cancel for a refund, list.

A coupon is usable while its status is ``active`` and ``now < valid_until`` (or it has no
``valid_until``). Consuming and cancelling are single atomic conditional updates
(``... WHERE status = 'active' AND not expired``), so of two racing checkouts exactly one wins
and a coupon is never both consumed and cancelled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError, PatronError
from patron.kit.outbox import emit
from patron.ledger import service as ledger_service
from patron.ledger.events import LedgerCredited
from patron.ledger.kinds import EntryKind
from patron.ledger.repository import lock_account_for_update
from patron.members.errors import MemberBlockedError
from patron.programs.expiry import expiry_for
from patron.programs.schema import RewardKind
from patron.programs.schemas import ActiveProgram
from patron.rewards.errors import (
    CouponCancelledError,
    CouponExpiredError,
    CouponNotFoundError,
    CouponNotYoursError,
    CouponUsedError,
)
from patron.rewards.events import CouponsConsumed
from patron.rewards.models import CouponStatus
from patron.rewards.redeem import COUPON_SOURCE
from patron.rewards.repository import RewardRepository, coupon_view
from patron.rewards.schemas import CouponCancellation, CouponView
from patron.wallet import service as wallet_service

MAX_REF = 128
MAX_PAGE = 500


def refund_entry_key(coupon_id: int) -> str:
    """The ledger idempotency key of the refund of a cancelled coupon (once per coupon)."""
    return f"rewards:cancel:{coupon_id}"


def coupon_problem(row: Row[Any], *, member_id: int | None, now: datetime) -> PatronError | None:
    """Why the coupon cannot be used by ``member_id`` (any member when None) at ``now``.

    Ownership is checked first, so that a stranger learns nothing about another member's
    coupon beyond its existence.
    """
    if member_id is not None and row.member_id != member_id:
        return CouponNotYoursError()
    if row.status == CouponStatus.CONSUMED:
        return CouponUsedError()
    if row.status == CouponStatus.CANCELLED:
        return CouponCancelledError()
    if row.valid_until is not None and row.valid_until <= now:
        return CouponExpiredError()
    return None


async def _find(repository: RewardRepository, code: str) -> Row[Any]:
    row = await repository.by_code(code.strip().upper())
    if row is None:
        raise CouponNotFoundError()
    return row


async def validate_coupon(
    session: AsyncSession, *, code: str, member_id: int | None = None, now: datetime
) -> CouponView:
    """The coupon if ``member_id`` (when given) may use it at ``now``; else the error that
    says why: ``coupon_not_found``, ``coupon_not_yours``, ``coupon_used``,
    ``coupon_cancelled`` or ``coupon_expired``. Codes are matched case-insensitively."""
    row = await _find(RewardRepository(session), code)
    problem = coupon_problem(row, member_id=member_id, now=now)
    if problem is not None:
        raise problem
    return coupon_view(row)


async def find_coupon(session: AsyncSession, *, code: str) -> CouponView:
    """The coupon with ``code`` (matched case-insensitively) in whatever state it is, for
    staff looking it up; ``coupon_not_found`` when there is none."""
    return coupon_view(await _find(RewardRepository(session), code))


async def consume_coupon(
    session: AsyncSession,
    *,
    code: str,
    now: datetime,
    ref: str | None = None,
    member_id: int | None = None,
) -> CouponView:
    """Use the coupon once (at checkout); ``ref`` names the order that used it.

    Idempotent by ``ref``: consuming again with the same ``ref`` returns the coupon as the
    first call left it; another ref (or none) gets ``coupon_used``. A blocked member's usable
    coupon is refused (``member_blocked``) and stays as it was.
    """
    if ref is not None and not 1 <= len(ref) <= MAX_REF:
        raise InvalidInputError(
            f"ref must be 1 to {MAX_REF} characters",
            field="ref",
            params={"min_length": 1, "max_length": MAX_REF},
        )
    repository = RewardRepository(session)
    normalised = code.strip().upper()
    row = await repository.consume(normalised, now=now, ref=ref, member_id=member_id)
    if row is not None:
        consumed = CouponsConsumed(member_id=row.member_id, coupon_code=row.code, ref=ref)
        await emit(session, consumed, program_id=row.program_id, occurred_at=now)
        await _credit_cashback(session, row, now)
        return coupon_view(row)
    row = await _find(repository, normalised)
    problem = coupon_problem(row, member_id=member_id, now=now)
    if isinstance(problem, CouponUsedError) and ref is not None and row.consumed_ref == ref:
        return coupon_view(row)
    if problem is None and await repository.member_blocked(row.member_id):
        raise MemberBlockedError(
            f"member {row.member_id} is blocked",
            field="member_id",
            params={"member_id": row.member_id},
        )
    if problem is None:  # the conditional update and this read disagree: a bug, not a state
        raise RuntimeError(f"coupon {normalised} is usable but could not be consumed")
    raise problem


async def _credit_cashback(session: AsyncSession, row: Row[Any], now: datetime) -> None:
    """A ``cashback`` coupon's value goes into the member's wallet when it is used (once: the
    credit is keyed ``coupon:<code>``; event ``wallet.credited``, source ``coupon``)."""
    if row.kind != RewardKind.CASHBACK or not row.value:
        return
    await wallet_service.credit(
        session,
        program_id=row.program_id,
        member_id=row.member_id,
        currency=row.currency,
        amount=row.value,
        idempotency_key=f"coupon:{row.code}",
        source_type=COUPON_SOURCE,
        source_id=row.code,
        description=f"cashback coupon {row.code} ({row.reward_code})",
        occurred_at=now,
        now=now,
    )


async def cancel_coupon(
    session: AsyncSession, *, active: ActiveProgram, code: str, now: datetime
) -> CouponCancellation:
    """Cancel an active, unexpired coupon: its points go back to the member as a NEW lot
    (a positive ``redeem`` entry, expiring per the program's expiry policy counted from
    ``now``) and its stock is given back. Locks the member's account first."""
    repository = RewardRepository(session)
    found = await _find(repository, code)
    if found.program_id != active.program_id:
        raise CouponNotFoundError()
    await lock_account_for_update(session, found.member_id)
    row = await repository.cancel(found.code, now=now)
    if row is None:
        problem = coupon_problem(await _find(repository, found.code), member_id=None, now=now)
        raise problem or RuntimeError(f"coupon {found.code} is usable but could not be cancelled")
    if row.cost_points > 0:
        entry = await ledger_service.refund(
            session,
            member_id=row.member_id,
            amount=row.cost_points,
            idempotency_key=refund_entry_key(row.id),
            source_type=COUPON_SOURCE,
            source_id=row.code,
            now=now,
            expires_at=expiry_for(active.program, now),
            description=f"cancelled coupon {row.code}",
            meta={"reward_code": row.reward_code},
        )
        await repository.set_refund_entry(row.id, entry.id)
        credited = LedgerCredited(
            member_id=row.member_id,
            entry_id=entry.id,
            kind=EntryKind.REDEEM.value,
            points=entry.amount,
            source=COUPON_SOURCE,
        )
        await emit(session, credited, program_id=row.program_id, occurred_at=now)
    reward = active.program.reward(row.reward_code)
    if reward is not None and reward.stock is not None:
        await repository.return_stock(row.program_id, row.reward_code)
    balance = await ledger_service.balance(session, member_id=row.member_id, now=now)
    return CouponCancellation(
        coupon=coupon_view(row), points_refunded=row.cost_points, balance_after=balance.available
    )


async def list_coupons(
    session: AsyncSession,
    *,
    member_id: int,
    status: CouponStatus | None = None,
    limit: int = 100,
) -> list[CouponView]:
    """The member's coupons, newest first (``limit`` from 1 to 500)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be from 1 to {MAX_PAGE}", field="limit", params={"min": 1, "max": MAX_PAGE}
        )
    rows = await RewardRepository(session).member_coupons(member_id, status, limit)
    return [coupon_view(row) for row in rows]
