"""Returns: refund part or all of a purchase and reverse its points in proportion.

Points reversed are computed cumulatively so that rounding never drifts: after a return the
purchase has reversed ``floor(points_earned x refunded / paid_for_goods)`` points in total
(``paid_for_goods`` = total less shipping; capped at 1), so a full return reverses exactly what
was earned and partial returns never reverse more. A return by lines refunds what the lines
were paid (:func:`line_refund`): a discounted line gives back its price less its discount
and its share of the order-level discount, and reverses points in that proportion.

The ledger takes the points first from the lot this purchase created (pending or not), then
from other available points, then applies the program's policy when the member has spent
them: ``debt``, ``cap_at_available`` or ``refuse``.

The member's wallet cashback of the purchase (:mod:`patron.campaigns.wallet_credit`) is
taken back by the same rule, cumulatively in proportion (``floor(credited x refunded /
paid_for_goods)``), in the return's unit of work (event ``wallet.debited``, kind
``reverse``). A wallet never goes below 0: under ``refuse`` a return that would take more
cashback than the balance is refused (409 ``wallet_already_spent``); under ``debt`` and
``cap_at_available`` it takes what is left. What the wallet *paid* of the purchase is given
back to the wallet by the same proportion, first (``floor(wallet_paid x refunded /
paid_for_goods)`` in all, all of it once fully refunded; a ``refund`` entry keyed
``refund:<purchase id>:<return external id>``, event ``wallet.credited``): that part of the
return's ``amount`` (never more than it) is ``wallet_refunded``, and the shop pays back the
rest.

A return also takes back, in its unit of work, the raffle entries its kept amount no longer
earns (until the raffle is drawn) and, when it refunds the whole purchase, the coupons an
instant prize gave for it (:mod:`patron.campaigns.prize_returns`).

Each campaign that applied to the purchase gets back its share of the points and cashback
taken back, and its use once the goods are wholly refunded
(:func:`patron.campaigns.give_back.give_back_returned`), in the return's unit of work.

A new return emits ``purchases.returned`` and, when it took points back, ``ledger.debited``
(kind ``reverse``), in its unit of work; a retry emits nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns import prize_returns
from patron.campaigns.give_back import give_back_returned
from patron.kit.errors import IdempotencyConflictError
from patron.kit.money import parse_amount
from patron.kit.outbox import DomainEvent, emit_many
from patron.ledger import service as ledger_service
from patron.ledger.errors import InsufficientPointsError
from patron.ledger.events import LedgerDebited
from patron.ledger.kinds import ShortfallPolicy
from patron.ledger.repository import lock_account_for_update
from patron.ledger.schemas import Entry
from patron.programs.purchase_settings import WhenSpent
from patron.programs.schemas import ActiveProgram
from patron.purchases.abuse import detect_return_cycles
from patron.purchases.errors import (
    PointsAlreadySpentError,
    PurchaseNotFoundError,
    ReturnExceedsPurchaseError,
)
from patron.purchases.events import PurchaseReturned
from patron.purchases.models import Purchase, PurchaseLine, PurchaseReturn
from patron.purchases.read import return_read
from patron.purchases.repository import PurchaseRepository
from patron.purchases.schemas import ReturnCreate, ReturnRead
from patron.wallet import service as wallet_service

_SHORTFALL = {
    WhenSpent.DEBT: ShortfallPolicy.DEBT,
    WhenSpent.CAP_AT_AVAILABLE: ShortfallPolicy.CAP,
    WhenSpent.REFUSE: ShortfallPolicy.REFUSE,
}


def reversal_target(points_earned: int, refunded: int, paid_for_goods: int) -> int:
    """Total points a purchase has reversed once ``refunded`` money has been given back."""
    if paid_for_goods <= 0 or refunded >= paid_for_goods:
        return points_earned
    return points_earned * refunded // paid_for_goods


def line_refund(paid: int, quantity: int, returned_before: int, returning: int) -> int:
    """Money refunded for ``returning`` more units of a line that was ``paid`` for
    ``quantity`` units, ``returned_before`` of them already returned: cumulative,
    ``floor(paid x returned / quantity)`` after less before, so the whole line refunds exactly
    what it was paid (its discounts and share of the order discount taken off)."""
    after = returned_before + returning
    return paid * after // quantity - paid * returned_before // quantity


def _refund_amount(
    purchase: Purchase, lines: list[PurchaseLine], data: ReturnCreate
) -> tuple[int, dict[int, int]]:
    """Money to refund and the quantity returned per line number."""
    remaining = purchase.total - purchase.refunded
    if data.lines is not None:
        by_number = {line.line_no: line for line in lines}
        returned: dict[int, int] = {}
        amount = 0
        for index, item in enumerate(data.lines):
            line = by_number.get(item.line_no)
            if line is None:
                raise ReturnExceedsPurchaseError(
                    f"the purchase has no line {item.line_no}", field=f"lines[{index}].line_no"
                )
            already = line.returned_quantity + returned.get(item.line_no, 0)
            if item.quantity > line.quantity - already:
                raise ReturnExceedsPurchaseError(
                    f"line {item.line_no} has {line.quantity - already} units left to return",
                    field=f"lines[{index}].quantity",
                )
            returned[item.line_no] = returned.get(item.line_no, 0) + item.quantity
            amount += line_refund(line.paid, line.quantity, already, item.quantity)
        return min(amount, remaining), returned
    if data.amount is not None:
        amount = parse_amount(data.amount, purchase.currency, field="amount")
        if amount <= 0 or amount > remaining:
            raise ReturnExceedsPurchaseError(
                f"the amount must be above 0 and at most the {remaining} not yet refunded",
                field="amount",
            )
        return amount, {}
    return remaining, {line.line_no: line.quantity - line.returned_quantity for line in lines}


async def record_return(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    purchase_id: int,
    data: ReturnCreate,
    now: datetime,
) -> tuple[ReturnRead, bool]:
    """Record a return (idempotent by ``external_id`` per purchase); ``(return, created)``."""
    repository = PurchaseRepository(session)
    purchase = await repository.get(purchase_id)
    if purchase is None:
        raise PurchaseNotFoundError(
            f"no purchase with id {purchase_id}",
            field="purchase_id",
            params={"purchase_id": purchase_id},
        )
    if purchase.member_id is not None:
        await lock_account_for_update(session, purchase.member_id)
    purchase = await repository.get(purchase_id, for_update=True)
    assert purchase is not None
    fingerprint = data.fingerprint()
    existing = await repository.return_by_external_id(purchase.id, data.external_id)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise IdempotencyConflictError(
                f"return {data.external_id!r} was already recorded with a different body",
                field="external_id",
            )
        return return_read(existing, purchase.currency), False
    if purchase.refunded >= purchase.total:
        raise ReturnExceedsPurchaseError("the purchase is already fully refunded")
    lines = await repository.lines(purchase.id)
    amount, returned = _refund_amount(purchase, lines, data)
    target = reversal_target(
        purchase.points_earned, purchase.refunded + amount, purchase.total - purchase.shipping
    )
    points = target - purchase.points_reversed
    record = PurchaseReturn(
        purchase_id=purchase.id,
        member_id=purchase.member_id,
        external_id=data.external_id,
        amount=amount,
        points_reversed=0,
        lines=[{"line_no": n, "quantity": q} for n, q in returned.items()],
        reason=data.reason,
        occurred_at=data.occurred_at or now,
        request_hash=fingerprint,
        created_at=now,
    )
    entry: Entry | None = None
    if points > 0 and purchase.member_id is not None and purchase.earn_entry_id is not None:
        try:
            entry = await ledger_service.reverse_lot(
                session,
                entry_id=purchase.earn_entry_id,
                amount=points,
                idempotency_key=f"return:{purchase.id}:{data.external_id}",
                source_type="return",
                source_id=f"{purchase.id}:{data.external_id}",
                on_shortfall=_SHORTFALL[active.program.returns.when_points_already_spent],
                now=now,
            )
        except InsufficientPointsError as error:
            raise PointsAlreadySpentError(
                "the member has already spent the points this return takes back, and the "
                "program refuses such returns"
            ) from error
        record.points_reversed = -entry.amount
    if purchase.member_id is not None:
        record.wallet_refunded = await _refund_wallet_paid(
            session, active, purchase, amount, data, record.occurred_at, now
        )
        await _reverse_cashback(session, active, purchase, amount, data, record.occurred_at, now)
        await prize_returns.take_back(
            session, active=active, purchase=purchase, refunded=purchase.refunded + amount, now=now
        )
    await repository.record_return(purchase, lines, record, returned)
    if purchase.member_id is not None:
        await give_back_returned(session, purchase=purchase)
    await _emit(session, active, record, entry)
    await detect_return_cycles(session, active=active, purchase=purchase, now=now)
    return return_read(record, purchase.currency), True


async def _refund_wallet_paid(
    session: AsyncSession,
    active: ActiveProgram,
    purchase: Purchase,
    amount: int,
    data: ReturnCreate,
    occurred_at: datetime,
    now: datetime,
) -> int:
    """Give back to the wallet its share of what this return refunds (minor units given)."""
    assert purchase.member_id is not None
    if purchase.wallet_paid <= 0:
        return 0
    written = await wallet_service.refund_for_purchase(
        session,
        program_id=active.program_id,
        member_id=purchase.member_id,
        currency=purchase.currency,
        purchase_id=purchase.id,
        refunded=purchase.refunded + amount,
        paid_for_goods=purchase.total - purchase.shipping,
        at_most=amount,
        idempotency_key=f"refund:{purchase.id}:{data.external_id}",
        source_id=f"{purchase.id}:{data.external_id}",
        occurred_at=occurred_at,
        now=now,
    )
    return 0 if written is None else written.entry.amount


async def _reverse_cashback(
    session: AsyncSession,
    active: ActiveProgram,
    purchase: Purchase,
    amount: int,
    data: ReturnCreate,
    occurred_at: datetime,
    now: datetime,
) -> None:
    """Take back the purchase's wallet cashback in proportion, as its points (the wallet never
    goes below 0: policy ``refuse`` refuses the return, the others take what is left)."""
    assert purchase.member_id is not None
    when_spent = active.program.returns.when_points_already_spent
    await wallet_service.reverse_for_purchase(
        session,
        program_id=active.program_id,
        member_id=purchase.member_id,
        currency=purchase.currency,
        purchase_id=purchase.id,
        refunded=purchase.refunded + amount,
        paid_for_goods=purchase.total - purchase.shipping,
        idempotency_key=f"return:{purchase.id}:{data.external_id}",
        source_id=f"{purchase.id}:{data.external_id}",
        refuse_when_spent=when_spent is WhenSpent.REFUSE,
        occurred_at=occurred_at,
        now=now,
    )


async def _emit(
    session: AsyncSession, active: ActiveProgram, record: PurchaseReturn, entry: Entry | None
) -> None:
    """``purchases.returned``, and ``ledger.debited`` when points were taken back."""
    events: list[DomainEvent] = [
        PurchaseReturned(
            member_id=record.member_id,
            purchase_id=record.purchase_id,
            return_id=record.id,
            amount=record.amount,
            points_reversed=record.points_reversed,
        )
    ]
    if entry is not None and entry.amount < 0:
        events.append(
            LedgerDebited(
                member_id=entry.member_id,
                entry_id=entry.id,
                kind=entry.kind.value,
                points=-entry.amount,
                source=entry.source_type,
            )
        )
    await emit_many(session, events, program_id=active.program_id, occurred_at=record.created_at)
