"""Value types of feedback text analysis: languages, labels, topics and the result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from patron.kit.language import Language as Language

JSON_DECIMALS = 4
"""Probabilities and severity are rounded to this many decimals in `to_json` only."""


class Label(StrEnum):
    """What a text mainly does: complains, praises, proposes something, or none of these."""

    NEGATIVE = "negative"
    POSITIVE = "positive"
    SUGGESTION = "suggestion"
    NEUTRAL = "neutral"


class Topic(StrEnum):
    """Stable topic slugs (see docs/feedback-analysis.md for what each one covers)."""

    DELIVERY = "delivery"
    STAFF = "staff"
    PRICE = "price"
    QUALITY = "quality"
    APP = "app"
    PAYMENT = "payment"
    CLEANLINESS = "cleanliness"
    WAITING_TIME = "waiting_time"
    PRODUCT_AVAILABILITY = "product_availability"
    LOYALTY_PROGRAM = "loyalty_program"
    RETURNS = "returns"
    GENERAL = "general"


@dataclass(frozen=True)
class TextAnalysis:
    """The analysis of one feedback text.

    `probability` is the classifier's probability of `label`; `probabilities` holds all four.
    `keywords` are lemmas without stop words, most characteristic first. `severity` is in
    [0, 1]: the negative probability weighted up by the three flags (see `flags.severity`).
    """

    language: Language
    label: Label
    probability: float
    keywords: tuple[str, ...]
    topic: Topic
    severity: float
    money_lost: bool
    churn_threat: bool
    rudeness: bool
    probabilities: Mapping[Label, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict: language, label, probability, keywords, topic, then the extras."""
        return {
            "language": self.language.value,
            "label": self.label.value,
            "probability": round(self.probability, JSON_DECIMALS),
            "keywords": list(self.keywords),
            "topic": self.topic.value,
            "severity": round(self.severity, JSON_DECIMALS),
            "money_lost": self.money_lost,
            "churn_threat": self.churn_threat,
            "rudeness": self.rudeness,
            "probabilities": {
                label.value: round(value, JSON_DECIMALS)
                for label, value in sorted(self.probabilities.items())
            },
        }
