"""The problem table over analysed, time-stamped feedback (pure, exact values)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patron.feedback.analysis.problems import (
    AnalysedFeedback,
    Period,
    ProblemRow,
    Trend,
    problem_table,
)
from patron.feedback.analysis.result import Label, Language, TextAnalysis, Topic

JUNE = Period(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC))
MAY = Period(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))


def item(
    text: str,
    topic: Topic,
    severity: float,
    day: datetime,
    label: Label = Label.NEGATIVE,
) -> AnalysedFeedback:
    analysis = TextAnalysis(
        language=Language.EN,
        label=label,
        probability=1.0,
        keywords=(),
        topic=topic,
        severity=severity,
        money_lost=False,
        churn_threat=False,
        rudeness=False,
    )
    return AnalysedFeedback(text=text, created_at=day, analysis=analysis)


def june(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 6, day, hour, tzinfo=UTC)


def may(day: int) -> datetime:
    return datetime(2024, 5, day, 12, tzinfo=UTC)


ITEMS = [
    item("late again", Topic.DELIVERY, 0.5, june(1)),
    item("courier lost my parcel", Topic.DELIVERY, 0.75, june(2)),
    item("Late again ", Topic.DELIVERY, 0.75, june(3)),
    item("box crushed", Topic.DELIVERY, 0.25, june(4)),
    item("rude cashier", Topic.STAFF, 1.0, june(5)),
    item("charged twice", Topic.PAYMENT, 1.0, june(6)),
    item("card declined", Topic.PAYMENT, 0.5, june(7)),
    item("fast delivery, thanks", Topic.DELIVERY, 0.0, june(8), Label.POSITIVE),
    item("add weekend delivery", Topic.DELIVERY, 0.25, june(9), Label.SUGGESTION),
    item("old delivery complaint", Topic.DELIVERY, 0.5, may(3)),
    item("old delivery complaint 2", Topic.DELIVERY, 0.5, may(4)),
    item("old staff complaint", Topic.STAFF, 0.5, may(5)),
    item("old payment complaint", Topic.PAYMENT, 0.5, may(6)),
    item("old payment complaint 2", Topic.PAYMENT, 0.5, may(7)),
    item("ancient", Topic.PRICE, 1.0, datetime(2024, 1, 1, tzinfo=UTC)),
    item("next month", Topic.PRICE, 1.0, datetime(2024, 7, 1, tzinfo=UTC)),
]


def test_rows_ranked_by_count_times_mean_severity() -> None:
    assert problem_table(ITEMS, JUNE, MAY) == [
        ProblemRow(
            topic=Topic.DELIVERY,
            count=4,
            share=4 / 7,
            mean_severity=0.5625,
            score=2.25,
            previous_count=2,
            change=1.0,
            trend=Trend.UP,
            examples=("Late again", "courier lost my parcel", "box crushed"),
        ),
        ProblemRow(
            topic=Topic.PAYMENT,
            count=2,
            share=2 / 7,
            mean_severity=0.75,
            score=1.5,
            previous_count=2,
            change=0.0,
            trend=Trend.FLAT,
            examples=("charged twice", "card declined"),
        ),
        ProblemRow(
            topic=Topic.STAFF,
            count=1,
            share=1 / 7,
            mean_severity=1.0,
            score=1.0,
            previous_count=1,
            change=0.0,
            trend=Trend.FLAT,
            examples=("rude cashier",),
        ),
    ]


def test_examples_are_distinct_most_severe_then_newest() -> None:
    rows = problem_table(ITEMS, JUNE, MAY)
    assert rows[0].examples == ("Late again", "courier lost my parcel", "box crushed")
    duplicates = [
        item("Same text", Topic.APP, 0.5, june(1)),
        item("same text ", Topic.APP, 0.5, june(2)),
        item("other", Topic.APP, 0.5, june(3)),
    ]
    assert problem_table(duplicates, JUNE)[0].examples == ("other", "same text")


def test_without_previous_period_every_topic_is_new() -> None:
    rows = problem_table(ITEMS, JUNE)
    assert [(row.topic, row.previous_count, row.change, row.trend) for row in rows] == [
        (Topic.DELIVERY, 0, None, Trend.NEW),
        (Topic.PAYMENT, 0, None, Trend.NEW),
        (Topic.STAFF, 0, None, Trend.NEW),
    ]


def test_trend_down_and_ties() -> None:
    items = [
        item("a", Topic.APP, 0.5, june(1)),
        item("b", Topic.PRICE, 0.25, june(1)),
        item("c", Topic.PRICE, 0.25, june(2)),
        *[item(f"old {n}", Topic.APP, 0.5, may(n + 1)) for n in range(4)],
        item("old price", Topic.PRICE, 0.5, may(10)),
    ]
    rows = problem_table(items, JUNE, MAY)
    assert [(r.topic, r.score, r.count, r.change, r.trend) for r in rows] == [
        (Topic.PRICE, 0.5, 2, 1.0, Trend.UP),
        (Topic.APP, 0.5, 1, -0.75, Trend.DOWN),
    ]


def test_no_negative_items_gives_an_empty_table() -> None:
    positive = [item("great", Topic.STAFF, 0.0, june(1), Label.POSITIVE)]
    assert problem_table(positive, JUNE, MAY) == []
    assert problem_table([], JUNE) == []


def test_period_bounds_are_half_open() -> None:
    items = [
        item("first instant", Topic.APP, 0.5, JUNE.start),
        item("last instant", Topic.APP, 0.5, JUNE.end - timedelta(microseconds=1)),
        item("after", Topic.APP, 0.5, JUNE.end),
    ]
    assert problem_table(items, JUNE)[0].count == 2


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Period(datetime(2024, 6, 1), datetime(2024, 7, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="before its end"):
        Period(JUNE.end, JUNE.start)
    with pytest.raises(ValueError, match="timezone-aware"):
        problem_table([item("x", Topic.APP, 0.5, datetime(2024, 6, 2))], JUNE)
