"""A program compiled for evaluation, the one form both evaluators read.

Rules in evaluation order (priority descending, ties in file order), multipliers as reduced
integer ratios ``a / b`` (a multiplier has at most 4 decimal places, so ``b`` divides 10,000:
``1.25 == 5/4``), money thresholds in minor units, condition values as sets, weekdays as
``0 = Monday``. Compiling is cached by identity: a :class:`Program` is immutable, and the
cache holds the program itself so an identity is never mistaken for another program's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from patron.kit.per_object import PerObject
from patron.rules.program import RuleProgram as Program
from patron.rules.trace import effect_of
from patron.rules.vocabulary import Conditions, ConditionType, EarnRule, EffectType, Rounding

Ratio = tuple[int, int]


def ratio_of(value: Decimal) -> Ratio:
    """The reduced integer ratio of a finite decimal: ``Decimal("1.25") -> (5, 4)``."""
    exact = Fraction(value)
    return exact.numerator, exact.denominator


def _set(values: list[str] | None) -> frozenset[str] | None:
    return frozenset(values) if values is not None else None


@dataclass(frozen=True, slots=True)
class CompiledConditions:
    """A rule's conditions, one field per :class:`ConditionType` (``None``: not given), and
    ``line_kinds`` / ``purchase_kinds``: the given ones, in the enum's order, that select lines
    and that test the whole purchase. The evaluators walk those through their registries."""

    categories: frozenset[str] | None
    skus: frozenset[str] | None
    total_gte: int | None
    total_lt: int | None
    channels: frozenset[str] | None
    stores: frozenset[str] | None
    between: tuple[date, date] | None
    weekdays: frozenset[int] | None
    time_window: tuple[time, time] | None
    tiers: frozenset[str] | None
    line_kinds: tuple[ConditionType, ...] = ()
    purchase_kinds: tuple[ConditionType, ...] = ()
    # a custom event's attribute name -> its values, each as (its kind, the value): ``true``
    # is not ``1`` (``None``: not given)
    event_attributes: Mapping[str, frozenset[tuple[type, object]]] | None = None

    @property
    def has_line_scope(self) -> bool:
        return bool(self.line_kinds)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: EarnRule
    when: CompiledConditions
    kind: EffectType
    value: Decimal | int
    ratio: Ratio  # the multiplier; (1, 1) for a bonus
    bonus: int  # the bonus points; 0 for a multiplier


@dataclass(frozen=True, slots=True)
class TierRate:
    name: str
    multiplier: Decimal
    ratio: Ratio


@dataclass(frozen=True, slots=True)
class CompiledProgram:
    program: Program
    rules: tuple[CompiledRule, ...]
    timezone: str
    zone: ZoneInfo
    points: int
    per_amount: int
    rounding: Rounding
    exclude_shipping: bool
    currency: str
    tiers: Mapping[str, TierRate]

    def tier(self, tier_id: str | None) -> TierRate | None:
        """The member's tier; ``None`` for no tier or an id the program does not have."""
        return self.tiers.get(tier_id) if tier_id is not None else None


def typed_value(value: object) -> tuple[type, object]:
    """A free attribute's value with its kind, so that ``True`` never equals ``1``."""
    return type(value), value


def _attributes(when: Conditions) -> Mapping[str, frozenset[tuple[type, object]]] | None:
    if when.event_attribute_in is None:
        return None
    return {
        name: frozenset(typed_value(value) for value in values)
        for name, values in when.event_attribute_in.items()
    }


def _conditions(program: Program, when: Conditions) -> CompiledConditions:
    window = None
    if when.time_between is not None:
        start, end = when.time_between
        window = (start.replace(tzinfo=None), end.replace(tzinfo=None))
    weekdays = None if when.weekday_in is None else frozenset(d.index for d in when.weekday_in)
    gte, lt = when.order_total_gte, when.order_total_lt
    given = [kind for kind in ConditionType if when.value(kind) is not None]
    return CompiledConditions(
        categories=_set(when.line_category_in),
        skus=_set(when.line_sku_in),
        total_gte=None if gte is None else program.minor(gte),
        total_lt=None if lt is None else program.minor(lt),
        channels=_set(when.channel_in),
        stores=_set(when.store_in),
        between=when.between,
        weekdays=weekdays,
        time_window=window,
        tiers=_set(when.tier_in),
        line_kinds=tuple(kind for kind in given if kind.is_line),
        purchase_kinds=tuple(kind for kind in given if not kind.is_line),
        event_attributes=_attributes(when),
    )


def compile_conditions(program: Program, when: Conditions) -> CompiledConditions:
    """A rule's (or a campaign's) conditions in the evaluators' form."""
    return _conditions(program, when)


def _rule(program: Program, rule: EarnRule) -> CompiledRule:
    kind, value = effect_of(rule.effect)
    is_bonus = kind is EffectType.BONUS_POINTS
    return CompiledRule(
        rule=rule,
        when=_conditions(program, rule.when),
        kind=kind,
        value=value,
        ratio=(1, 1) if is_bonus else ratio_of(Decimal(value)),
        bonus=int(value) if is_bonus else 0,
    )


def _compile(program: Program) -> CompiledProgram:
    ordered = sorted(program.earning.rules, key=lambda rule: -rule.priority)  # stable
    levels = program.tiers.levels if program.tiers is not None else []
    base = program.earning.base
    return CompiledProgram(
        program=program,
        rules=tuple(_rule(program, rule) for rule in ordered),
        timezone=program.program.timezone,
        zone=ZoneInfo(program.program.timezone),
        points=base.points,
        per_amount=program.minor(base.per_amount, path="earning.base.per_amount"),
        rounding=base.rounding,
        exclude_shipping=program.earning.exclude_shipping,
        currency=program.currency,
        tiers={
            level.id: TierRate(level.name, level.earn_multiplier, ratio_of(level.earn_multiplier))
            for level in levels
        },
    )


_CACHE_SIZE = 64
_cache: PerObject[Program, CompiledProgram] = PerObject(_compile, _CACHE_SIZE)


def compile_program(program: Program) -> CompiledProgram:
    return _cache(program)
