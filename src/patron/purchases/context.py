"""Load everything the rules engine needs for one purchase (``fetch_purchase_context``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.money import exponent, format_amount, parse_amount
from patron.programs.schema import Program
from patron.purchases.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    LimitExceededError,
    OccurredInFutureError,
    TotalMismatchError,
)
from patron.purchases.repository import RuleUsageRepository
from patron.purchases.schemas import PurchaseLineCreate
from patron.rules.context import LineContext, PurchaseContext
from patron.rules.engine import Evaluation, evaluate
from patron.rules.periods import limit_period_key
from patron.rules.vocabulary.audience import MemberFacts


def limited_rule_keys(program: Program, occurred_at: datetime) -> list[tuple[str, str]]:
    """``(rule id, period key)`` of every rule with a per-member limit, for ``occurred_at``."""
    timezone = program.program.timezone
    return [
        (rule.id, limit_period_key(rule.limit.period, occurred_at, timezone))
        for rule in program.earning.rules
        if rule.limit is not None
    ]


def parse_lines(
    program: Program, currency: str, lines: Sequence[PurchaseLineCreate]
) -> tuple[LineContext, ...]:
    """The lines in minor units; a ``discount`` above its line's amount is refused."""
    if currency != program.currency:
        raise CurrencyMismatchError(
            f"the program runs in {program.currency}, not {currency}",
            field="currency",
            params={"currency": currency, "program_currency": program.currency},
        )
    return tuple(_parse_line(currency, index, line) for index, line in enumerate(lines))


def _parse_line(currency: str, index: int, line: PurchaseLineCreate) -> LineContext:
    unit_price = parse_amount(line.unit_price, currency, field=f"lines[{index}].unit_price")
    discount = 0
    if line.discount is not None:
        field = f"lines[{index}].discount"
        discount = parse_amount(line.discount, currency, field=field)
        if discount > line.quantity * unit_price:
            raise InvalidAmountError(
                "the discount cannot exceed the line's amount (quantity x unit_price)",
                field=field,
            )
    return LineContext(
        sku=line.sku,
        category=line.category,
        quantity=line.quantity,
        unit_price=unit_price,
        discount=discount,
    )


def parse_totals(currency: str, total: str, shipping: str) -> tuple[int, int]:
    total_minor = parse_amount(total, currency, field="total")
    shipping_minor = parse_amount(shipping, currency, field="shipping")
    if shipping_minor > total_minor:
        raise InvalidAmountError("shipping cannot exceed the total", field="shipping")
    return total_minor, shipping_minor


LARGEST_AMOUNT = 2**53 - 1  # minor units: exact in JSON numbers and far inside BIGINT


def check_total(currency: str, lines: Sequence[LineContext], total: int, shipping: int) -> None:
    """Refuse a total above the lines (less their discounts) plus shipping; a total below is
    an order-level discount (:mod:`patron.rules.allocation`). Lines worth more than
    :data:`LARGEST_AMOUNT` together are refused (``invalid_amount``, field ``lines``): their
    sum would not fit the database's 64-bit columns (PostgreSQL answered 500)."""
    most = sum(line.net for line in lines) + shipping
    if most > LARGEST_AMOUNT or total > LARGEST_AMOUNT:
        raise InvalidAmountError(
            f"the lines and shipping come to more than {format_amount(LARGEST_AMOUNT, currency)}",
            field="lines" if most > LARGEST_AMOUNT else "total",
            params={"limit": format_amount(LARGEST_AMOUNT, currency), "currency": currency},
        )
    if total > most:
        raise TotalMismatchError(
            f"the total {format_amount(total, currency)} is above the lines less their "
            f"discounts plus shipping: {format_amount(most, currency)}",
            field="total",
            params={
                "total": format_amount(total, currency),
                "most": format_amount(most, currency),
                "currency": currency,
            },
        )


def check_total_limit(program: Program, currency: str, total: int, *, field: str = "total") -> None:
    """Refuse a total above the program's ``limits.max_purchase_total``: its figure read in
    ``currency`` (a partner's may not be the program's), rounded down to a minor unit."""
    scaled = program.limits.max_purchase_total.scaleb(exponent(currency))
    most = int(scaled.to_integral_value(rounding=ROUND_FLOOR))
    if total > most:
        raise LimitExceededError(
            f"the total {format_amount(total, currency)} is above the program's "
            f"limits.max_purchase_total of {format_amount(most, currency)}",
            field=field,
            params={
                "total": format_amount(total, currency),
                "limit": format_amount(most, currency),
                "currency": currency,
            },
        )


def check_points_limit(program: Program, points: int, *, field: str = "lines") -> None:
    """Refuse a purchase that would earn more than ``limits.max_points_per_purchase``."""
    most = program.limits.max_points_per_purchase
    if points > most:
        raise LimitExceededError(
            f"the purchase would earn {points} points, above the program's "
            f"limits.max_points_per_purchase of {most}",
            field=field,
            params={"points": points, "limit": most},
        )


def check_not_in_future(program: Program, occurred_at: datetime, now: datetime) -> None:
    """Refuse a purchase dated more than ``purchases.max_future_minutes`` after ``now``."""
    margin = program.purchases.max_future_minutes
    if occurred_at > now + timedelta(minutes=margin):
        raise OccurredInFutureError(
            f"the purchase is dated {occurred_at.isoformat()}, more than {margin} minutes "
            "ahead of the server's clock",
            field="occurred_at",
            params={"occurred_at": occurred_at.isoformat(), "minutes": margin},
        )


async def fetch_purchase_context(
    session: AsyncSession,
    *,
    program: Program,
    member_id: int | None,
    tier_id: str | None,
    occurred_at: datetime,
    lines: tuple[LineContext, ...],
    total: int,
    shipping: int,
    channel: str | None,
    store: str | None,
    member: MemberFacts | None = None,
) -> PurchaseContext:
    """The frozen context of one purchase: the member's tier and rule usage in the periods
    that contain ``occurred_at`` (one query, only when the program has limited rules)."""
    usage: dict[str, int] = {}
    if member_id is not None:
        keys = limited_rule_keys(program, occurred_at)
        usage = await RuleUsageRepository(session).counts(member_id, keys)
    return PurchaseContext(
        occurred_at=occurred_at,
        lines=lines,
        total=total,
        shipping=shipping,
        channel=channel,
        store=store,
        tier_id=tier_id if member_id is not None else None,
        rule_usage=usage,
        member=member,
    )


async def evaluate_purchase(
    session: AsyncSession, *, program: Program, context: PurchaseContext, member_id: int | None
) -> Evaluation:
    """``evaluate(program, context)`` with the member's rule usage, read only when it can
    matter: usage only blocks a limited rule whose conditions hold, so the purchase is first
    evaluated as if no limit were used; only when a limited rule matched is the usage read
    (one query) and the purchase evaluated again. ``context`` comes without usage."""
    evaluation = evaluate(program, context)
    if member_id is None or not any(t.limit is not None and t.matched for t in evaluation.trace):
        return evaluation
    keys = limited_rule_keys(program, context.occurred_at)
    usage = await RuleUsageRepository(session).counts(member_id, keys)
    return evaluate(program, replace(context, rule_usage=usage))
