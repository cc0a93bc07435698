"""Recording a purchase: validate, evaluate the rules, credit the member's points.

Idempotency: a purchase is identified by ``(program, external_id)``. The member's account row
is locked before the existence check, so concurrent retries of one member's purchase are
serialised and the second sees the first (answering it again, or 409 when its body differs).
Purchases without a member rely on the unique constraint instead.

Points go to a lot that unlocks after the program's ``pending_days`` and expires per its expiry
policy; limited rules count their use per period in ``rule_usages``; a tier upgrade happens in
the same unit of work as soon as the metric crosses a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import IdempotencyConflictError
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.repository import lock_account_for_update
from patron.members import service as member_service
from patron.members.schemas import MemberState
from patron.programs.expiry import lot_timing
from patron.programs.schemas import ActiveProgram
from patron.purchases.context import (
    fetch_purchase_context,
    limited_rule_keys,
    parse_lines,
    parse_totals,
)
from patron.purchases.errors import PurchaseNotFoundError
from patron.purchases.read import LineRow, PurchaseRow, purchase_read
from patron.purchases.repository import (
    PurchaseRepository,
    RuleUsageRepository,
    lock_member_for_purchase,
)
from patron.purchases.schemas import PurchaseCreate, PurchaseRead
from patron.rules.engine import evaluate
from patron.tiers import service as tier_service


@dataclass(frozen=True, slots=True)
class RecordedPurchase:
    purchase: PurchaseRead
    created: bool


async def resolve_member(
    session: AsyncSession, *, program_id: int, member_id: int | None, member_external_id: str | None
) -> MemberState | None:
    """The member a purchase or quote names (by id or external id), or ``None`` for none."""
    if member_id is None and member_external_id is None:
        return None
    return await member_service.get_member_state(
        session, program_id=program_id, member_id=member_id, external_id=member_external_id
    )


async def record_purchase(
    session: AsyncSession, *, active: ActiveProgram, data: PurchaseCreate, now: datetime
) -> RecordedPurchase:
    """Record one purchase (see the module docstring): about nine statements for a member's
    purchase, all straight to the driver."""
    program = active.program
    lines = parse_lines(program, data.currency, data.lines)
    total, shipping = parse_totals(data.currency, data.total, data.shipping)
    member, lifetime_before = await _lock_member(session, active, data)
    member_id = member.id if member is not None else None
    context = await fetch_purchase_context(
        session,
        program=program,
        member_id=member_id,
        tier_id=member.tier_id if member is not None else None,
        occurred_at=data.occurred_at,
        lines=lines,
        total=total,
        shipping=shipping,
        channel=data.channel,
        store=data.store,
    )
    evaluation = evaluate(program, context)
    points = evaluation.points if member is not None else 0
    pending_until, expires_at = lot_timing(program, data.occurred_at)
    values: dict[str, Any] = {
        "program_id": active.program_id,
        "external_id": data.external_id,
        "member_id": member_id,
        "occurred_at": data.occurred_at,
        "currency": data.currency,
        "total": total,
        "shipping": shipping,
        "channel": data.channel,
        "store": data.store,
        "program_version": active.version,
        "points_earned": points,
        "points_reversed": 0,
        "refunded": 0,
        "pending_until": pending_until if points else None,
        "expires_at": expires_at if points else None,
        "request_hash": data.fingerprint(),
        "created_at": now,
    }
    breakdown: list[dict[str, Any]] = [dict(row) for row in evaluation.to_breakdown()]
    line_rows = [
        LineRow(number, line.sku, line.category, line.quantity, line.unit_price, line.amount)
        for number, line in enumerate(lines, start=1)
    ]
    repository = PurchaseRepository(session)
    purchase_id = await repository.insert(values, breakdown, [row.stored() for row in line_rows])
    if purchase_id is None:
        return await _recorded_before(repository, active, data.external_id, values["request_hash"])
    if member is not None and points > 0:
        entry = await ledger_service.credit(
            session,
            member_id=member.id,
            amount=points,
            kind=EntryKind.EARN,
            idempotency_key=f"purchase:{purchase_id}",
            source_type="purchase",
            source_id=str(purchase_id),
            occurred_at=data.occurred_at,
            pending_until=pending_until,
            expires_at=expires_at,
            description=f"purchase {data.external_id}",
            now=now,
        )
        await repository.set_earn_entry(purchase_id, entry.id)
    if member is not None:
        await _count_rule_usage(session, member.id, active, evaluation.applied_rule_ids, data)
        await tier_service.upgrade_if_qualified(
            session,
            program=program,
            member_id=member.id,
            current_tier=member.tier_id,
            now=now,
            lifetime_earned=lifetime_before + points,
        )
    shown = {name: values[name] for name in _SHOWN}
    purchase = PurchaseRow(id=purchase_id, breakdown=breakdown, **shown)
    return RecordedPurchase(purchase_read(purchase, line_rows), True)


_SHOWN = tuple(name for name in PurchaseRow.__dataclass_fields__ if name not in ("id", "breakdown"))


async def _lock_member(
    session: AsyncSession, active: ActiveProgram, data: PurchaseCreate
) -> tuple[MemberState | None, int]:
    """The purchase's member (or ``None``) with its account locked, and its lifetime points.

    Locking first serialises concurrent retries of one member's purchase: the second finds
    the first's row. Purchases without a member rely on the unique key alone."""
    if data.member_id is None and data.member_external_id is None:
        return None, 0
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
        found = state, (await lock_account_for_update(session, state.id)).lifetime_earned
    member_service.ensure_active(found[0])
    return found


async def _recorded_before(
    repository: PurchaseRepository, active: ActiveProgram, external_id: str, fingerprint: str
) -> RecordedPurchase:
    """A retry: the purchase recorded first under ``external_id``, if the body is the same."""
    existing = await repository.by_external_id(active.program_id, external_id)
    assert existing is not None  # the insert found it taken, and purchases are never deleted
    if existing.request_hash != fingerprint:
        raise IdempotencyConflictError(
            f"purchase {external_id!r} was already recorded with a different body",
            field="external_id",
        )
    return RecordedPurchase(purchase_read(existing, await repository.lines(existing.id)), False)


async def _count_rule_usage(
    session: AsyncSession,
    member_id: int,
    active: ActiveProgram,
    applied: tuple[str, ...],
    data: PurchaseCreate,
) -> None:
    usage = RuleUsageRepository(session)
    for rule_id, period_key in limited_rule_keys(active.program, data.occurred_at):
        if rule_id in applied:
            await usage.increment(member_id, rule_id, period_key)


async def get_purchase(session: AsyncSession, *, purchase_id: int) -> PurchaseRead:
    repository = PurchaseRepository(session)
    purchase = await repository.get(purchase_id)
    if purchase is None:
        raise PurchaseNotFoundError(f"no purchase with id {purchase_id}", field="id")
    return purchase_read(purchase, await repository.lines(purchase.id))


async def purchase_ids(
    session: AsyncSession, *, program_id: int, external_ids: Sequence[str]
) -> dict[str, int]:
    """Ids of the program's purchases by external id (those recorded among ``external_ids``)."""
    return await PurchaseRepository(session).ids_by_external_id(program_id, external_ids)
