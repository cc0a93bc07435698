"""The member's standing discount in the checkout quote and in a recorded purchase
(:mod:`patron.rules.standing` has the arithmetic; docs/campaigns.md, "Standing discounts").

Its breakdown row is ``discount:<key>``, effect ``percent_discount``, ``value`` the percent,
``points`` 0 and ``amount`` the money it took off (decimal text): points are not a discount's
to give, they follow what the lines were paid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.money import format_amount
from patron.members.facts import member_facts
from patron.programs.schema import Program
from patron.rules.allocation import order_discount
from patron.rules.club import is_gated
from patron.rules.context import LineContext
from patron.rules.standing import EFFECT, ROW_PREFIX, Choice, amount_off, choose, recorded
from patron.rules.vocabulary.audience import MemberFacts
from patron.rules.vocabulary.discounts import StandingDiscount

NONE = Choice(None, ())


def needs_facts(program: Program) -> bool:
    """Whether a purchase's audiences read more of the member than the tier: standing
    discounts, or campaigns gated by segments, flags or early access (patron.rules.club)."""
    return bool(program.standing_discounts) or any(is_gated(c) for c in program.campaigns)


async def facts_for(
    session: AsyncSession, program: Program, member_id: int | None, *, needed: bool
) -> MemberFacts | None:
    """The member's facts when an audience will read them (``needed``); else ``None``."""
    if member_id is None or not needed:
        return None
    return await member_facts(session, member_id=member_id)


def choice_for(program: Program, member_id: int | None, facts: MemberFacts | None) -> Choice:
    if not program.standing_discounts:
        return NONE
    return choose(program.standing_discounts, facts if member_id is not None else None)


def entitled(choice: Choice, lines: Sequence[LineContext]) -> int:
    """What the chosen discount takes off these lines (0 without one)."""
    if choice.chosen is None:
        return 0
    return amount_off(sum(line.net for line in lines), choice.chosen.hundredths)


def discount_row(
    program: Program, discount: StandingDiscount, amount: int, reason: str | None
) -> dict[str, Any]:
    return {
        "rule_id": f"{ROW_PREFIX}{discount.key}",
        "name": discount.name.pick(program.program.default_language.value),
        "applied": amount > 0,
        "reason": reason,
        "effect": EFFECT,
        "value": format(discount.percent.normalize(), "f"),
        "points": 0,
        "amount": format_amount(amount, program.currency),
    }


def recorded_row(
    program: Program, choice: Choice, lines: Sequence[LineContext], shipping: int, total: int
) -> dict[str, Any] | None:
    """The row a recorded purchase keeps: the entitlement, at most the order-level discount
    its total took off (``reason`` says so when less)."""
    if choice.chosen is None:
        return None
    due = entitled(choice, lines)
    given = recorded(due, order_discount([line.net for line in lines], shipping, total))
    reason = None
    if given < due:
        currency = program.currency
        reason = (
            f"the total takes off {format_amount(given, currency)} of the "
            f"{format_amount(due, currency)} due"
        )
    return discount_row(program, choice.chosen, given, reason)


def purchase_rows(
    program: Program,
    member_id: int | None,
    facts: MemberFacts | None,
    lines: Sequence[LineContext],
    shipping: int,
    total: int,
) -> list[dict[str, Any]]:
    """The standing discount's row of a purchase being recorded (none without a member or a
    discount for them)."""
    if not program.standing_discounts or member_id is None:
        return []
    row = recorded_row(program, choice_for(program, member_id, facts), lines, shipping, total)
    return [] if row is None else [row]
