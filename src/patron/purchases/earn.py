"""Recording a purchase: validate, evaluate the rules, credit the member's points.

Idempotency: a purchase is identified by ``(program, external_id)``. The member's account row
is locked before the existence check, so concurrent retries of one member's purchase are
serialised and the second sees the first (answering it again, or 409 when its body differs).
Purchases without a member rely on the unique constraint instead.

A purchase is refused before its member is locked when its total is above its lines
(less their discounts) plus shipping (``total_mismatch``) or when it is dated more than the
program's ``purchases.max_future_minutes`` ahead (``occurred_in_future``). A total below is an
order-level discount, spread over the lines (:mod:`patron.rules.allocation`): each line is
stored with its share, and points follow what the lines were paid.

Every new purchase emits ``purchases.recorded``, and ``ledger.credited`` when it earned points
(:mod:`patron.purchases.events`), in its own unit of work: no event for a retry.

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

from patron.campaigns import service as campaign_service
from patron.kit.errors import IdempotencyConflictError
from patron.kit.outbox import DomainEvent, emit_many
from patron.kit.raw import raw_of
from patron.ledger import service as ledger_service
from patron.ledger.kinds import EntryKind
from patron.ledger.repository import LedgerRepository, LockedAccount
from patron.ledger.writes import Change
from patron.programs.expiry import lot_timing
from patron.programs.schemas import ActiveProgram
from patron.purchases import events as purchase_events
from patron.purchases import standing
from patron.purchases.buyer import lock_buyer
from patron.purchases.context import (
    check_not_in_future,
    check_points_limit,
    check_total,
    check_total_limit,
    evaluate_purchase,
    limited_rule_keys,
    parse_lines,
    parse_totals,
)
from patron.purchases.errors import PurchaseNotFoundError
from patron.purchases.fused import earning_key, insert_purchase_with_earning
from patron.purchases.read import LineRow, PurchaseRow, purchase_read
from patron.purchases.repository import (
    PurchaseRepository,
    RuleUsageRepository,
)
from patron.purchases.schemas import PurchaseCreate, PurchaseRead
from patron.purchases.wallet_pay import pay_from_wallet, wallet_amount
from patron.rules.allocation import allocate, order_discount
from patron.rules.context import PurchaseContext
from patron.rules.engine import DeferredAction
from patron.tiers import service as tier_service

# A member's purchase with points and no debt as one statement on PostgreSQL
# (:mod:`patron.purchases.fused`); off, it is written step by step as on SQLite.
FUSE_ON_POSTGRESQL = True


@dataclass(frozen=True, slots=True)
class RecordedPurchase:
    """``deferred``: the deferred effects of the rules that applied to a new member purchase
    (issue a reward, credit a wallet, send a message), for event handlers to apply after the
    commit; nothing here applies them. Empty for a purchase recorded before or without a
    member."""

    purchase: PurchaseRead
    created: bool
    deferred: tuple[DeferredAction, ...] = ()


async def record_purchase(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    data: PurchaseCreate,
    now: datetime,
    campaigns: bool = True,
) -> RecordedPurchase:
    """Record one purchase (see the module docstring): about nine statements for a member's
    purchase, all straight to the driver. ``campaigns=False`` leaves the program's campaigns
    out (an import of history scores as the vectorised path does)."""
    program = active.program
    lines = parse_lines(program, data.currency, data.lines)
    total, shipping = parse_totals(data.currency, data.total, data.shipping)
    check_total(data.currency, lines, total, shipping)
    check_total_limit(program, data.currency, total)
    check_not_in_future(program, data.occurred_at, now)
    from_wallet = wallet_amount(data, total)
    # an import of history (campaigns=False) is not held to the velocity limit
    member, account = await lock_buyer(session, active, data, now if campaigns else None)
    member_id = member.id if member is not None else None
    lifetime_before = account.lifetime_earned if account is not None else 0
    facts = await standing.facts_for(
        session, program, member_id, needed=standing.needs_facts(program)
    )
    context = PurchaseContext(
        occurred_at=data.occurred_at,
        lines=lines,
        total=total,
        shipping=shipping,
        channel=data.channel,
        store=data.store,
        tier_id=member.tier_id if member is not None else None,
        rule_usage={},
        member=facts,
    )
    evaluation = await evaluate_purchase(
        session, program=program, context=context, member_id=member_id
    )
    # campaigns: claimed here (limits, budgets); given back below for a purchase recorded before
    offers = campaign_service.NOTHING
    if campaigns:
        offers = await campaign_service.claim_for_purchase(
            session,
            program_id=active.program_id,
            program=program,
            context=context,
            member_id=member_id,
            reference=data.external_id,
            wallet_paid=from_wallet,
        )
    points = evaluation.points + offers.points if member is not None else 0
    check_points_limit(program, points)
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
        "wallet_paid": from_wallet,  # written after the insert (pay_from_wallet)
    }
    breakdown: list[dict[str, Any]] = [dict(row) for row in evaluation.to_breakdown()]
    breakdown += [dict(row) for row in offers.rows]
    # an import of history (campaigns=False) records no standing discount, as the vectorised path
    shown_to = member_id if campaigns else None
    breakdown += standing.purchase_rows(program, shown_to, facts, lines, shipping, total)
    line_rows = _line_rows(context)
    repository = PurchaseRepository(session)
    stored_lines = [row.stored() for row in line_rows]
    # on PostgreSQL a member's purchase with points and no debt is one statement (fused)
    fused = (
        FUSE_ON_POSTGRESQL
        and account is not None
        and points > 0
        and account.debt == 0
        and from_wallet == 0
        and not (await raw_of(session)).is_sqlite
    )
    if fused:
        assert account is not None
        purchase_id = await _insert_with_earning(
            session, values, breakdown, stored_lines, account, data, now
        )
    else:
        purchase_id = await repository.insert(values, breakdown, stored_lines)
    if purchase_id is None:
        if member is not None and (offers.claims or offers.draws):
            await campaign_service.give_back(
                session, program_id=active.program_id, member_id=member.id, outcome=offers
            )
        return await _recorded_before(repository, active, data.external_id, values["request_hash"])
    if not fused:  # the fused statement wrote the events with the rows
        events: list[DomainEvent] = [purchase_events.recorded(purchase_id, values)]
        if member is not None and points > 0:
            assert account is not None
            entry, written = await ledger_service.credit_change(
                session,
                _earning(account, points, data, purchase_id),
                occurred_at=data.occurred_at,
                pending_until=pending_until,
                expires_at=expires_at,
                now=now,
            )
            await repository.set_earn_entry(purchase_id, entry.id)
            if written:
                events.append(purchase_events.earned(member.id, entry.id, points))
        if purchase_events.EMIT:
            await emit_many(session, events, program_id=active.program_id, occurred_at=now)
    await pay_from_wallet(
        session, active=active, member=member, data=data, purchase_id=purchase_id, now=now
    )
    if member is not None and offers.claims:
        await campaign_service.record_applications(
            session,
            program_id=active.program_id,
            purchase_id=purchase_id,
            member_id=member.id,
            outcome=offers,
            revenue=total,
            occurred_at=data.occurred_at,
            now=now,
            currency=program.currency,
        )
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
    deferred = evaluation.deferred + offers.deferred if member is not None else ()
    if member is not None and deferred and campaigns and purchase_events.EMIT:
        # an import of history (campaigns=False) grants nothing after the fact
        due = [(action.rule_id, action.effect.type.value) for action in deferred]
        await emit_many(
            session,
            [purchase_events.effects_due(member.id, purchase_id, due)],
            program_id=active.program_id,
            occurred_at=now,
        )
    return RecordedPurchase(purchase_read(purchase, line_rows), True, deferred)


def _line_rows(context: PurchaseContext) -> list[LineRow]:
    """The lines as stored, each with its share of the order-level discount."""
    lines = context.lines
    nets = [line.net for line in lines]
    shares = allocate(nets, order_discount(nets, context.shipping, context.total))
    return [
        LineRow(
            number,
            line.sku,
            line.category,
            line.quantity,
            line.unit_price,
            line.amount,
            line.discount,
            share,
        )
        for number, (line, share) in enumerate(zip(lines, shares, strict=True), start=1)
    ]


_SHOWN = tuple(name for name in PurchaseRow.__dataclass_fields__ if name not in ("id", "breakdown"))


def _earning_description(data: PurchaseCreate) -> str:
    return f"purchase {data.external_id}"


def _earning(account: LockedAccount, points: int, data: PurchaseCreate, purchase_id: int) -> Change:
    """The credit of a purchase's points, as ``ledger_service.credit`` builds it."""
    return Change(
        account.member_id,
        EntryKind.EARN,
        points,
        earning_key(purchase_id),
        "purchase",
        str(purchase_id),
        _earning_description(data),
    )


async def _insert_with_earning(
    session: AsyncSession,
    values: dict[str, Any],
    breakdown: list[dict[str, Any]],
    lines: list[tuple[Any, ...]],
    account: LockedAccount,
    data: PurchaseCreate,
    now: datetime,
) -> int | None:
    """The purchase and its earning in one statement (:mod:`patron.purchases.fused`): its id,
    or ``None`` when the ``external_id`` is taken. When the entry's key was taken, the
    purchase is linked to the entry found under it, or the credit's conflict is raised, as
    ``ledger_service.credit`` answers a taken key."""
    points: int = values["points_earned"]
    written = await insert_purchase_with_earning(
        session,
        values=values,
        breakdown=breakdown,
        lines=lines,
        account=account,
        change=_earning(account, points, data, _LARGEST_ID),  # checked with the longest id
        occurred_at=data.occurred_at,
        pending_until=values["pending_until"],
        expires_at=values["expires_at"],
        now=now,
    )
    if written is None:
        return None
    purchase_id, entry_written = written
    if not entry_written:
        change = _earning(account, points, data, purchase_id)
        found = await LedgerRepository(session).find_entry(change.idempotency_key)
        assert found is not None  # the key is taken, and entries are never deleted
        entry = change.same_or_conflict(found, requested=points)
        await PurchaseRepository(session).set_earn_entry(purchase_id, entry.id)
    return purchase_id


_LARGEST_ID = 2**63 - 1


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
            params={"external_id": external_id},
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
        raise PurchaseNotFoundError(
            f"no purchase with id {purchase_id}", field="id", params={"purchase_id": purchase_id}
        )
    return purchase_read(purchase, await repository.lines(purchase.id))


async def purchase_ids(
    session: AsyncSession, *, program_id: int, external_ids: Sequence[str]
) -> dict[str, int]:
    """Ids of the program's purchases by external id (those recorded among ``external_ids``)."""
    return await PurchaseRepository(session).ids_by_external_id(program_id, external_ids)
