"""Checkout quote: the discounts a cart's coupons give, the points it would earn (with the
per-rule breakdown) and "why not" hints. Reads only; writes nothing.

The quote applies the rules of recording a purchase: lines may carry a ``discount``; the
total (given, or by default the lines less their discounts and the coupons' discounts, plus
the shipping due) may not be above the lines less their discounts plus the shipping due
(``total_mismatch``), and a total below is an order-level discount spread over the lines;
a given ``occurred_at`` may not be further ahead than ``purchases.max_future_minutes``.

For a member, ``wallet_balance`` is their cashback wallet's balance and ``wallet_can_pay``
the lesser of it and the total due: what the purchase may send as ``wallet_amount``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns import preview as campaign_preview
from patron.kit.money import format_amount, parse_amount
from patron.programs.schemas import ActiveProgram
from patron.purchases import standing
from patron.purchases.buyer import resolve_member
from patron.purchases.context import (
    check_not_in_future,
    check_total,
    fetch_purchase_context,
    parse_lines,
)
from patron.purchases.errors import InvalidAmountError
from patron.purchases.schemas import (
    BreakdownRow,
    Eligibility,
    Quote,
    QuoteDiscount,
    QuoteHint,
    QuoteRequest,
    QuoteStandingDiscount,
)
from patron.rewards.discounts import Cart, CartLine, apply_coupons
from patron.rewards.service import validate_coupon
from patron.rules import club
from patron.rules.engine import evaluate
from patron.rules.hints import Hint, HintKind, hints
from patron.rules.standing import goods_due
from patron.wallet import service as wallet_service


def _hint(hint: Hint, currency: str) -> QuoteHint:
    data = hint.to_dict()
    missing = (
        format_amount(hint.missing_amount, currency) if hint.missing_amount is not None else None
    )
    params: dict[str, str | list[str]] = {"rule_name": hint.rule_name}
    if hint.kind is HintKind.SPEND_MORE:
        message = f"spend {missing} {currency} more for {hint.rule_name}"
        params |= {"amount": missing or "0", "currency": currency}
    else:
        wanted = ", ".join([*hint.categories, *hint.skus])
        message = f"add an item of {wanted} for {hint.rule_name}"
        params |= {"categories": list(hint.categories), "skus": list(hint.skus)}
    return QuoteHint(
        kind=hint.kind.value,
        code=hint.kind.value,
        params=params,
        rule_id=hint.rule_id,
        rule_name=hint.rule_name,
        effect=hint.effect.value,
        value=str(data["value"]),
        missing_amount=missing,
        categories=list(hint.categories),
        skus=list(hint.skus),
        message=message,
    )


async def quote(
    session: AsyncSession, *, active: ActiveProgram, data: QuoteRequest, now: datetime
) -> Quote:
    program = active.program
    currency = data.currency
    lines = parse_lines(program, currency, data.lines)
    shipping = parse_amount(data.shipping, currency, field="shipping")
    member = await resolve_member(
        session,
        program_id=active.program_id,
        member_id=data.member_id,
        member_external_id=data.member_external_id,
    )
    member_id = member.id if member is not None else None
    coupons = [
        await validate_coupon(session, code=code, member_id=member_id, now=now)
        for code in data.coupon_codes
    ]
    facts = await standing.facts_for(
        session, program, member_id, needed=standing.needs_facts(program)
    )
    choice = standing.choice_for(program, member_id, facts)
    standing_off = standing.entitled(choice, lines)
    cart = Cart(
        lines=tuple(
            CartLine(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
            for line in lines
        ),
        shipping=shipping,
    )
    applied = apply_coupons(cart, coupons, already_off=standing_off)
    shipping_due = shipping - applied.shipping_discount
    line_discounts = sum(line.discount for line in lines)
    total = (
        goods_due(applied.goods, line_discounts, standing_off, applied.goods_discount)
        + shipping_due
        if data.total is None
        else parse_amount(data.total, currency, field="total")
    )
    if total < shipping_due:
        raise InvalidAmountError("the total cannot be below the shipping", field="total")
    check_total(currency, lines, total, shipping_due)
    occurred_at = data.occurred_at or now
    check_not_in_future(program, occurred_at, now)
    context = await fetch_purchase_context(
        session,
        program=program,
        member_id=member_id,
        tier_id=member.tier_id if member is not None else None,
        occurred_at=occurred_at,
        lines=lines,
        total=total,
        shipping=shipping_due,
        channel=data.channel,
        store=data.store,
        member=facts,
    )
    evaluation = evaluate(program, context)
    offers = await campaign_preview.preview_for_quote(
        session, program_id=active.program_id, program=program, context=context, member_id=member_id
    )
    wallet = await wallet_service.balance(session, member_id=member_id) if member_id else 0
    rows: list[Any] = [*evaluation.to_breakdown(), *offers.rows]
    chosen = choice.chosen
    if chosen is not None:
        rows.append(standing.discount_row(program, chosen, standing_off, None))
    return Quote(
        member_id=member_id,
        currency=currency,
        goods=format_amount(applied.goods, currency),
        shipping=format_amount(shipping, currency),
        total_discount=format_amount(applied.total_discount + standing_off, currency),
        total_due=format_amount(total, currency),
        points_earned=evaluation.points + offers.points,
        breakdown=[BreakdownRow.model_validate(row) for row in rows],
        discounts=[
            QuoteDiscount(
                code=d.code,
                kind=d.kind.value,
                target=d.target.value,
                amount=format_amount(d.amount, currency),
                note=d.note.value or None,
            )
            for d in applied.discounts
        ],
        hints=[
            _hint(hint, currency) for hint in [*hints(program, context, evaluation), *offers.hints]
        ],
        wallet_balance=format_amount(wallet, currency),
        wallet_can_pay=format_amount(min(wallet, total), currency),
        standing_discount=None
        if chosen is None
        else QuoteStandingDiscount(
            key=chosen.key,
            name=chosen.name.pick(program.program.default_language.value),
            percent=format(chosen.percent.normalize(), "f"),
            amount=format_amount(standing_off, currency),
        ),
        eligibility=[
            *(
                Eligibility(kind="standing_discount", key=c.discount.key, **c.eligibility.to_dict())
                for c in choice.checks
            ),
            *(
                Eligibility(kind="campaign", key=key, **found.to_dict())
                for key, found in club.eligibility(
                    program.campaigns,
                    program.program.timezone,
                    context,
                    has_member=member_id is not None,
                )
            ),
        ],
    )
