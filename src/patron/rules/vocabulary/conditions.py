"""Condition types: an enum, one typed model per type, and their discriminated union.

A program file writes a rule's conditions as one mapping keyed by the type
(``when: {order_total_gte: "5000.00", weekday_in: [sat, sun]}``); :class:`Conditions` is that
mapping, and :meth:`Conditions.items` gives the typed conditions (:data:`Condition`, keyed by
``type``) in the enum's order. To add a type: a member of :class:`ConditionType`, its model in
:data:`CONDITION_MODELS`, a field of :class:`Conditions`, and an entry in every evaluator's
registry (``tests/rules/test_registries.py`` fails until each has one).
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, TypeAdapter

from patron.kit.strict import Strict
from patron.rules.vocabulary.base import AttributeName, AttributeValues, MoneyAmount, Weekday


class ConditionType(StrEnum):
    """In the order the evaluators check them (and name the ones that fail)."""

    LINE_CATEGORY_IN = "line_category_in"
    LINE_SKU_IN = "line_sku_in"
    ORDER_TOTAL_GTE = "order_total_gte"
    ORDER_TOTAL_LT = "order_total_lt"
    CHANNEL_IN = "channel_in"
    STORE_IN = "store_in"
    BETWEEN = "between"
    WEEKDAY_IN = "weekday_in"
    TIME_BETWEEN = "time_between"
    TIER_IN = "tier_in"
    EVENT_ATTRIBUTE_IN = "event_attribute_in"

    @property
    def is_line(self) -> bool:
        """A line condition selects the lines an effect applies to (its scope)."""
        return self in (ConditionType.LINE_CATEGORY_IN, ConditionType.LINE_SKU_IN)

    @property
    def needs_purchase(self) -> bool:
        """Whether the condition reads a purchase (so only a ``purchase`` rule set may use it)."""
        return self not in (ConditionType.TIER_IN, ConditionType.EVENT_ATTRIBUTE_IN)

    @property
    def needs_event(self) -> bool:
        """Whether the condition reads a custom event's ``attributes`` (so only a campaign or
        rule set of ``trigger: event`` may use it)."""
        return self is ConditionType.EVENT_ATTRIBUTE_IN


def _ordered_dates(value: tuple[date, date]) -> tuple[date, date]:
    if value[0] > value[1]:
        raise ValueError("the first date must not be after the second")
    return value


Names = Annotated[list[str], Field(min_length=1)]
DateRange = Annotated[tuple[date, date], AfterValidator(_ordered_dates)]
Weekdays = Annotated[list[Weekday], Field(min_length=1)]
# ``{platform: [ios, android]}``: each named attribute of the custom event holds one of its values
EventAttributes = Annotated[
    dict[AttributeName, AttributeValues], Field(min_length=1, max_length=20)
]


class LineCategoryIn(Strict):
    type: Literal[ConditionType.LINE_CATEGORY_IN] = ConditionType.LINE_CATEGORY_IN
    value: Names


class LineSkuIn(Strict):
    type: Literal[ConditionType.LINE_SKU_IN] = ConditionType.LINE_SKU_IN
    value: Names


class OrderTotalGte(Strict):
    type: Literal[ConditionType.ORDER_TOTAL_GTE] = ConditionType.ORDER_TOTAL_GTE
    value: MoneyAmount


class OrderTotalLt(Strict):
    type: Literal[ConditionType.ORDER_TOTAL_LT] = ConditionType.ORDER_TOTAL_LT
    value: MoneyAmount


class ChannelIn(Strict):
    type: Literal[ConditionType.CHANNEL_IN] = ConditionType.CHANNEL_IN
    value: Names


class StoreIn(Strict):
    type: Literal[ConditionType.STORE_IN] = ConditionType.STORE_IN
    value: Names


class Between(Strict):
    type: Literal[ConditionType.BETWEEN] = ConditionType.BETWEEN
    value: DateRange


class WeekdayIn(Strict):
    type: Literal[ConditionType.WEEKDAY_IN] = ConditionType.WEEKDAY_IN
    value: Weekdays


class TimeBetween(Strict):
    type: Literal[ConditionType.TIME_BETWEEN] = ConditionType.TIME_BETWEEN
    value: tuple[time, time]


class TierIn(Strict):
    type: Literal[ConditionType.TIER_IN] = ConditionType.TIER_IN
    value: Names


class EventAttributeIn(Strict):
    type: Literal[ConditionType.EVENT_ATTRIBUTE_IN] = ConditionType.EVENT_ATTRIBUTE_IN
    value: EventAttributes


Condition = Annotated[
    LineCategoryIn
    | LineSkuIn
    | OrderTotalGte
    | OrderTotalLt
    | ChannelIn
    | StoreIn
    | Between
    | WeekdayIn
    | TimeBetween
    | TierIn
    | EventAttributeIn,
    Field(discriminator="type"),
]
CONDITION_MODELS: dict[ConditionType, type[Strict]] = {
    ConditionType.LINE_CATEGORY_IN: LineCategoryIn,
    ConditionType.LINE_SKU_IN: LineSkuIn,
    ConditionType.ORDER_TOTAL_GTE: OrderTotalGte,
    ConditionType.ORDER_TOTAL_LT: OrderTotalLt,
    ConditionType.CHANNEL_IN: ChannelIn,
    ConditionType.STORE_IN: StoreIn,
    ConditionType.BETWEEN: Between,
    ConditionType.WEEKDAY_IN: WeekdayIn,
    ConditionType.TIME_BETWEEN: TimeBetween,
    ConditionType.TIER_IN: TierIn,
    ConditionType.EVENT_ATTRIBUTE_IN: EventAttributeIn,
}
_CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)


class Conditions(Strict):
    """All given conditions must hold; an empty ``when`` always holds.

    The written form: one optional field per :class:`ConditionType`. Line conditions
    (``line_category_in``, ``line_sku_in``) select the lines a line effect applies to; for an
    order effect they require at least one such line in the order. ``event_attribute_in``
    reads the custom event's ``attributes`` (``trigger: event`` only): each attribute named
    must be present and hold one of its listed values, of the same kind (the text ``"1"`` is
    not the number ``1``, and ``true`` is not ``1``).
    """

    line_category_in: Names | None = None
    line_sku_in: Names | None = None
    order_total_gte: MoneyAmount | None = None
    order_total_lt: MoneyAmount | None = None
    channel_in: Names | None = None
    store_in: Names | None = None
    between: DateRange | None = None
    weekday_in: Weekdays | None = None
    time_between: tuple[time, time] | None = None
    tier_in: Names | None = None
    # a custom event's attributes (``trigger: event`` only); left out of the written form
    # when not given, so that stored documents keep their checksums
    event_attribute_in: EventAttributes | None = Field(
        default=None, exclude_if=lambda value: value is None
    )

    def items(self) -> tuple[Condition, ...]:
        """The given conditions, typed, in the order of :class:`ConditionType`."""
        found: list[Condition] = []
        for kind in ConditionType:
            value: Any = getattr(self, kind.value)
            if value is not None:
                found.append(_CONDITION.validate_python({"type": kind, "value": value}))
        return tuple(found)

    def value(self, kind: ConditionType) -> Any:
        """The written value of condition ``kind``, or ``None`` when the rule does not have it."""
        return getattr(self, kind.value)

    @property
    def has_line_scope(self) -> bool:
        return any(kind.is_line and self.value(kind) is not None for kind in ConditionType)
