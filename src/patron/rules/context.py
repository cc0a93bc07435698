"""What the engine needs to know about one purchase, loaded before evaluation (no DB here).

Money is integer minor units of the program currency. ``rule_usage[rule_id]`` is how many
times a rule with a ``limit`` has already applied to this member in the limit period that
contains ``occurred_at`` (count it with :func:`patron.rules.periods.limit_period_bounds`);
a rule missing from the mapping has not applied yet. A purchase without a member passes no
usage and no tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from patron.rules.vocabulary.audience import MemberFacts


def _require_int(name: str, value: object, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True, slots=True)
class LineContext:
    """One line of goods: ``quantity`` (> 0) units at ``unit_price`` (minor units, >= 0),
    less ``discount``: money off the whole line (not per unit), from 0 to the line's amount."""

    sku: str
    category: str | None
    quantity: int
    unit_price: int
    discount: int = 0

    def __post_init__(self) -> None:
        _require_int("quantity", self.quantity, minimum=1)
        _require_int("unit_price", self.unit_price, minimum=0)
        _require_int("discount", self.discount, minimum=0)
        if self.discount > self.amount:
            raise ValueError(f"discount must be <= the line amount {self.amount}")

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price

    @property
    def net(self) -> int:
        """The line's amount less its own discount."""
        return self.quantity * self.unit_price - self.discount


_NO_USAGE: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PurchaseContext:
    """A purchase as the engine sees it.

    ``total`` is what was paid, shipping included; ``shipping`` is the part of it that paid
    for delivery. A total below the lines' net value plus shipping is an order-level discount,
    spread over the lines (:mod:`patron.rules.allocation`); points follow what each line
    was paid. ``occurred_at`` must be time zone aware (it is read in the program's zone).
    """

    occurred_at: datetime
    lines: tuple[LineContext, ...]
    total: int
    shipping: int = 0
    channel: str | None = None
    store: str | None = None
    tier_id: str | None = None
    rule_usage: Mapping[str, int] = field(default_factory=lambda: _NO_USAGE)
    # the member's segments and flags, when an audience reads them (None: only the tier known)
    member: MemberFacts | None = None
    # a custom event's ``attributes`` (``trigger: event`` campaigns; None: not an event)
    attributes: Mapping[str, object] | None = None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be time zone aware (UTC)")
        if not isinstance(self.lines, tuple):
            raise TypeError("lines must be a tuple of LineContext")
        _require_int("total", self.total, minimum=0)
        _require_int("shipping", self.shipping, minimum=0)
        for rule_id, used in self.rule_usage.items():
            _require_int(f"rule_usage[{rule_id!r}]", used, minimum=0)
