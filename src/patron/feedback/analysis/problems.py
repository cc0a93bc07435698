"""The problem table: negative feedback of a period grouped by topic, worst first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from patron.feedback.analysis.result import Label, TextAnalysis, Topic

MAX_EXAMPLES = 3
FLAT_BAND = 0.1
"""A relative change in count within +-10 % counts as flat."""


class Trend(StrEnum):
    """How a topic's complaint count moved against the previous period."""

    NEW = "new"
    UP = "up"
    DOWN = "down"
    FLAT = "flat"


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end) in aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period bounds must be timezone-aware")
        if self.start >= self.end:
            raise ValueError("period start must be before its end")

    def contains(self, moment: datetime) -> bool:
        """True when `moment` falls in the period; a naive `moment` is refused."""
        if moment.tzinfo is None:
            raise ValueError("feedback time must be timezone-aware")
        return self.start <= moment < self.end


@dataclass(frozen=True)
class AnalysedFeedback:
    """One feedback text, when it was written, and its analysis."""

    text: str
    created_at: datetime
    analysis: TextAnalysis


@dataclass(frozen=True)
class ProblemRow:
    """One topic's complaints in the period.

    `share` is the topic's part of all negative items of the period; `score` = count x mean
    severity orders the table; `change` is (count - previous_count) / previous_count, None
    when the topic had no complaints before (trend `new`).
    """

    topic: Topic
    count: int
    share: float
    mean_severity: float
    score: float
    previous_count: int
    change: float | None
    trend: Trend
    examples: tuple[str, ...]


def problem_table(
    items: Iterable[AnalysedFeedback],
    period: Period,
    previous_period: Period | None = None,
) -> list[ProblemRow]:
    """Rows for every topic with negative items in `period`, highest score first.

    Only items labelled negative count. Ties in score go to the larger count, then to the
    topic name. Examples are up to three distinct texts (compared without case and outer
    spaces) of the topic, most severe first, then newest, then alphabetical.
    """
    current: dict[Topic, list[AnalysedFeedback]] = defaultdict(list)
    previous: dict[Topic, int] = defaultdict(int)
    for item in items:
        if item.analysis.label is not Label.NEGATIVE:
            continue
        if period.contains(item.created_at):
            current[item.analysis.topic].append(item)
        elif previous_period is not None and previous_period.contains(item.created_at):
            previous[item.analysis.topic] += 1
    total = sum(len(group) for group in current.values())
    rows = [_row(topic, group, total, previous[topic]) for topic, group in current.items()]
    return sorted(rows, key=lambda row: (-row.score, -row.count, row.topic.value))


def _row(
    topic: Topic, group: list[AnalysedFeedback], total: int, previous_count: int
) -> ProblemRow:
    count = len(group)
    severity_sum = sum(item.analysis.severity for item in group)
    change = (count - previous_count) / previous_count if previous_count else None
    return ProblemRow(
        topic=topic,
        count=count,
        share=count / total,
        mean_severity=severity_sum / count,
        score=severity_sum,
        previous_count=previous_count,
        change=change,
        trend=_trend(change),
        examples=_examples(group),
    )


def _trend(change: float | None) -> Trend:
    if change is None:
        return Trend.NEW
    if change > FLAT_BAND:
        return Trend.UP
    if change < -FLAT_BAND:
        return Trend.DOWN
    return Trend.FLAT


def _examples(group: list[AnalysedFeedback]) -> tuple[str, ...]:
    ordered = sorted(
        group,
        key=lambda item: (-item.analysis.severity, -item.created_at.timestamp(), item.text),
    )
    chosen: list[str] = []
    seen: set[str] = set()
    for item in ordered:
        key = item.text.strip().casefold()
        if key and key not in seen:
            seen.add(key)
            chosen.append(item.text.strip())
        if len(chosen) == MAX_EXAMPLES:
            break
    return tuple(chosen)
