"""Effect types, of two kinds (:class:`EffectKind`).

* Immediate points effects (``multiply_lines``, ``multiply_order``, ``bonus_points``): they make
  the points of the event, appear in its breakdown and have vectorised twins. A rule has one,
  written ``effect: {multiply_lines: 2}``.
* Deferred effects (``issue_reward``, ``credit_wallet``, ``send_message``): the engine only
  collects them (``Evaluation.deferred``); event handlers apply them after the event has
  committed. A rule lists them under ``deferred``, each written as a one-key mapping
  (``- issue_reward: {reward: FREESHIP}``). They never change the points or the breakdown's
  points.

:data:`PointsEffect` and :data:`DeferredEffect` are discriminated unions keyed by ``type``.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, TypeAdapter, model_validator

from patron.kit.strict import Strict
from patron.rules.vocabulary.base import Multiplier, Slug

BonusPointsValue = Annotated[int, Field(gt=0, le=1_000_000_000, strict=True)]


class EffectKind(StrEnum):
    IMMEDIATE = "immediate"
    DEFERRED = "deferred"


class EffectType(StrEnum):
    MULTIPLY_LINES = "multiply_lines"
    MULTIPLY_ORDER = "multiply_order"
    BONUS_POINTS = "bonus_points"
    ISSUE_REWARD = "issue_reward"
    CREDIT_WALLET = "credit_wallet"
    SEND_MESSAGE = "send_message"

    @property
    def kind(self) -> EffectKind:
        if self in (EffectType.MULTIPLY_LINES, EffectType.MULTIPLY_ORDER, EffectType.BONUS_POINTS):
            return EffectKind.IMMEDIATE
        return EffectKind.DEFERRED

    @property
    def needs_purchase(self) -> bool:
        """Multipliers scale a purchase's spend, so only a ``purchase`` rule set may use them."""
        return self in (EffectType.MULTIPLY_LINES, EffectType.MULTIPLY_ORDER)


class MultiplyLines(Strict):
    type: Literal[EffectType.MULTIPLY_LINES] = EffectType.MULTIPLY_LINES
    value: Multiplier


class MultiplyOrder(Strict):
    type: Literal[EffectType.MULTIPLY_ORDER] = EffectType.MULTIPLY_ORDER
    value: Multiplier


class BonusPoints(Strict):
    type: Literal[EffectType.BONUS_POINTS] = EffectType.BONUS_POINTS
    value: BonusPointsValue


PointsEffect = Annotated[MultiplyLines | MultiplyOrder | BonusPoints, Field(discriminator="type")]
_POINTS_EFFECT: TypeAdapter[PointsEffect] = TypeAdapter(PointsEffect)


class Effect(Strict):
    """The written form of a rule's points effect: exactly one of its fields."""

    multiply_lines: Multiplier | None = None
    multiply_order: Multiplier | None = None
    bonus_points: BonusPointsValue | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [v for v in (self.multiply_lines, self.multiply_order, self.bonus_points) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of multiply_lines, multiply_order, bonus_points")
        return self

    def typed(self) -> PointsEffect:
        for kind in EffectType:
            if kind.kind is EffectKind.IMMEDIATE and getattr(self, kind.value) is not None:
                return _POINTS_EFFECT.validate_python(
                    {"type": kind, "value": getattr(self, kind.value)}
                )
        raise ValueError("an effect needs one points effect")  # pragma: no cover - validated


class IssueReward(Strict):
    """Issue a coupon for catalogue reward ``reward`` (no points are spent)."""

    type: Literal[EffectType.ISSUE_REWARD] = Field(EffectType.ISSUE_REWARD, exclude=True)
    reward: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class CreditWallet(Strict):
    """Cashback: credit the member's wallet either ``amount`` (money in the program currency,
    a decimal string) or ``percent`` of what the purchase paid for its goods other than from
    the wallet (``total - shipping - wallet_paid``), rounded down to the minor unit. Exactly
    one of the two."""

    type: Literal[EffectType.CREDIT_WALLET] = Field(EffectType.CREDIT_WALLET, exclude=True)
    amount: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] | None = None
    percent: (
        Annotated[Decimal, Field(gt=0, le=100, decimal_places=4, allow_inf_nan=False)] | None
    ) = None

    @model_validator(mode="after")
    def _amount_or_percent(self) -> Self:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("give exactly one of amount, percent")
        return self

    def cashback(self, paid: int, minor_amount: int) -> int:
        """The credit in minor units: ``minor_amount`` (the ``amount`` already in minor
        units) or ``floor(paid x percent / 100)`` of ``paid`` minor units (0 when negative)."""
        if self.percent is None:
            return minor_amount
        hundredths_of_bp = int(self.percent * 10_000)  # exact: at most 4 decimal places
        return max(paid, 0) * hundredths_of_bp // 1_000_000


class SendMessage(Strict):
    """Send the member the message ``template`` (in their language, with their consent)."""

    type: Literal[EffectType.SEND_MESSAGE] = Field(EffectType.SEND_MESSAGE, exclude=True)
    template: Slug


DeferredEffect = Annotated[IssueReward | CreditWallet | SendMessage, Field(discriminator="type")]


class Deferred(Strict):
    """The written form of one deferred effect: exactly one of its fields."""

    issue_reward: IssueReward | None = None
    credit_wallet: CreditWallet | None = None
    send_message: SendMessage | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [v for v in (self.issue_reward, self.credit_wallet, self.send_message) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of issue_reward, credit_wallet, send_message")
        return self

    def typed(self) -> DeferredEffect:
        found = self.issue_reward or self.credit_wallet or self.send_message
        if found is None:  # pragma: no cover - validated
            raise ValueError("a deferred effect needs one type")
        return found


def value_text(effect: PointsEffect | DeferredEffect) -> str:
    """The effect's value as the breakdown and the hints show it."""
    if isinstance(effect, IssueReward):
        return effect.reward
    if isinstance(effect, CreditWallet):
        return str(effect.amount) if effect.amount is not None else f"{effect.percent}%"
    if isinstance(effect, SendMessage):
        return effect.template
    return str(effect.value)
