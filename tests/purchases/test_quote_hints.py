"""The quote's hints carry a ``code`` and ``params`` beside the English ``message``, so that a
surface can say the same thing in its own language."""

from __future__ import annotations

from patron.purchases.quote import _hint
from patron.rules import EffectType, Hint, HintKind


def test_spend_more_names_the_amount_and_the_currency() -> None:
    hint = Hint(
        HintKind.SPEND_MORE, "big", "Big basket", EffectType.BONUS_POINTS, 500, missing_amount=880
    )
    shown = _hint(hint, "PLN")
    assert (shown.code, shown.params) == (
        "spend_more",
        {"amount": "8.80", "currency": "PLN", "rule_name": "Big basket"},
    )
    assert shown.message == "spend 8.80 PLN more for Big basket"


def test_add_item_names_the_categories_and_the_skus() -> None:
    hint = Hint(
        HintKind.ADD_ITEM,
        "coffee",
        "Coffee x2",
        EffectType.MULTIPLY_LINES,
        2,
        categories=("coffee",),
        skus=("cof-1",),
    )
    shown = _hint(hint, "RUB")
    assert (shown.code, shown.params) == (
        "add_item",
        {"categories": ["coffee"], "skus": ["cof-1"], "rule_name": "Coffee x2"},
    )
    assert shown.message == "add an item of coffee, cof-1 for Coffee x2"
