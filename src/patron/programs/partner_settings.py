"""The ``partners`` section of the program file: the coalition's partner organisations, each
with the rate its purchases earn points at and the prices the program and the partner settle
points at (docs/partners.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from patron.kit import money
from patron.programs.strict import Strict

# Prices per point may be finer than the minor unit (0.5 kopeck a point): up to this many
# decimal places beyond the currency's own. Settlements count in 1/10**PRICE_PLACES of a minor
# unit and round once per partner, period and direction (docs/partners.md, "Money").
PRICE_PLACES = 4

PartnerId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")]
Price = Annotated[Decimal, Field(ge=0, le=1_000_000, allow_inf_nan=False)]


class PartnerEarn(Strict):
    """``points`` per whole ``per_amount`` of a purchase at the partner (money in the partner's
    currency); ``price_per_point``: what the partner pays the program for each point its
    purchases issue."""

    points: Annotated[int, Field(ge=1, le=1_000_000, strict=True)]
    per_amount: Annotated[Decimal, Field(gt=0, le=1_000_000_000, allow_inf_nan=False)]
    price_per_point: Price


class PartnerBurn(Strict):
    """``price_per_point``: what the program pays the partner for each point it accepted as
    payment."""

    price_per_point: Price


class Partner(Strict):
    """A partner organisation. ``currency``: its money (none: the program's)."""

    id: PartnerId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    earn: PartnerEarn
    burn: PartnerBurn


def price_units(price: Decimal, currency: str) -> int:
    """A price per point in 1/10**PRICE_PLACES of the currency's minor unit (exact, or a
    ValueError)."""
    scaled = price.scaleb(money.exponent(currency) + PRICE_PLACES)
    if scaled != scaled.to_integral_value():
        places = money.exponent(currency) + PRICE_PLACES
        raise ValueError(f"has more than {places} decimal places for {currency}")
    return int(scaled)


def partner_problems(partners: list[Partner], program_currency: str) -> list[str]:
    """``path: message`` for ids used twice, unknown currencies and amounts finer than the
    currency allows."""
    problems: list[str] = []
    seen: set[str] = set()
    for index, partner in enumerate(partners):
        path = f"partners[{index}]"
        if partner.id in seen:
            problems.append(f"{path}.id: partner id {partner.id!r} is used twice")
        seen.add(partner.id)
        currency = partner.currency or program_currency
        if not money.is_currency(currency):
            problems.append(f"{path}.currency: {currency!r} is not an ISO 4217 currency")
            continue
        scaled = partner.earn.per_amount.scaleb(money.exponent(currency))
        if scaled != scaled.to_integral_value():
            places = money.exponent(currency)
            problems.append(
                f"{path}.earn.per_amount: has more than {places} decimal places for {currency}"
            )
        for where, price in (
            ("earn.price_per_point", partner.earn.price_per_point),
            ("burn.price_per_point", partner.burn.price_per_point),
        ):
            try:
                price_units(price, currency)
            except ValueError as error:
                problems.append(f"{path}.{where}: {error}")
    return problems
