"""What the evaluators read of a program, as a protocol.

``patron.rules`` sits below ``patron.programs`` (a program is written in the rules'
vocabulary), so the evaluators never import :class:`patron.programs.schema.Program`; it
satisfies :class:`RuleProgram` structurally.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from patron.rules.vocabulary import EarnRule, Rounding


class BaseRateView(Protocol):
    @property
    def points(self) -> int: ...
    @property
    def per_amount(self) -> Decimal: ...
    @property
    def rounding(self) -> Rounding: ...


class EarningView(Protocol):
    @property
    def base(self) -> BaseRateView: ...
    @property
    def exclude_shipping(self) -> bool: ...
    @property
    def rules(self) -> Sequence[EarnRule]: ...


class TierLevelView(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def earn_multiplier(self) -> Decimal: ...


class TiersView(Protocol):
    @property
    def levels(self) -> Sequence[TierLevelView]: ...


class ProgramInfoView(Protocol):
    @property
    def timezone(self) -> str: ...


class RuleProgram(Protocol):
    """The ``purchase`` rule set (``earning``), the tiers' earn multipliers and the money of a
    program."""

    @property
    def program(self) -> ProgramInfoView: ...
    @property
    def earning(self) -> EarningView: ...
    @property
    def tiers(self) -> TiersView | None: ...
    @property
    def currency(self) -> str: ...
    def minor(self, amount: Decimal, *, path: str = "amount") -> int: ...
