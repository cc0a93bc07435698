"""Stored feedback analysed in batches, and the problem table over stored analyses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.feedback.analysis import Label, Language, TextAnalysis, Topic, analyze
from patron.feedback.insights import _store
from patron.feedback.models import Review, SurveyAnswer, TicketAnalysis
from patron.kit.db import Database
from patron.programs.feedback_settings import SurveyTrigger
from patron.support import service as support_service
from patron.support.states import TicketChannel, TicketSource
from tests.feedback.factories import NOW, apply_program, enrol, segment_row

TEXTS = [
    "Курьер опоздал на два часа, еда холодная, больше не закажу",
    "Świetna kawa i bardzo miła obsługa, polecam!",
    "Please add oat milk to the menu",
]


async def test_analyse_pending_stores_the_analysis_once(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1")
        invitation = await feedback_service.invite(
            session,
            survey_key="nps",
            member_id=member,
            trigger=SurveyTrigger.MANUAL,
            source_ref="r",
            now=NOW,
        )
        await feedback_service.submit(
            session, token=invitation.token, values={"nps": "3", "why": TEXTS[0]}, now=NOW
        )
        for text in TEXTS[1:]:
            await feedback_service.create_review(
                session, data=schemas.ReviewCreate(member_id=member, rating=4, text=text), now=NOW
            )
        await feedback_service.create_review(
            session, data=schemas.ReviewCreate(member_id=member, rating=5), now=NOW
        )
    later = NOW + timedelta(hours=1)
    async with database.write() as session:
        run = await feedback_service.analyse_pending(session, now=later)
    async with database.write() as session:
        again = await feedback_service.analyse_pending(session, now=later)
    expected = analyze(TEXTS, default_language=Language.RU)
    assert run.analysed == 3
    assert run.labels == dict(sorted(_count(result.label.value for result in expected).items()))
    assert again.analysed == 0
    async with database.read() as session:
        answer = (
            await session.execute(select(SurveyAnswer).where(SurveyAnswer.text.is_not(None)))
        ).scalar_one()
        reviews = list((await session.execute(select(Review).order_by(Review.id))).scalars())
        stored = [answer, *reviews[:2]]
        for row, result in zip(stored, expected, strict=True):
            assert (row.language, row.label, row.topic, row.keywords) == (
                result.language.value,
                result.label.value,
                result.topic.value,
                list(result.keywords),
            )
            assert row.probability == result.probability
            assert row.severity == result.severity
            assert row.analysed_at == later
        for row, result in zip(reviews[:2], expected[1:], strict=True):
            assert row.needs_follow_up is (result.label is Label.NEGATIVE)
        assert reviews[2].analysed_at is None  # no text, nothing to analyse


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(Counter(values))


def _analysis(label: Label, topic: Topic, severity: float) -> TextAnalysis:
    return TextAnalysis(
        language=Language.EN,
        label=label,
        probability=0.9,
        keywords=("word",),
        topic=topic,
        severity=severity,
        money_lost=False,
        churn_threat=False,
        rudeness=False,
    )


async def _review(
    database: Database, member: int, text: str, at: datetime, analysis: TextAnalysis, **extra: str
) -> None:
    async with database.write() as session:
        created = await feedback_service.create_review(
            session,
            data=schemas.ReviewCreate.model_validate(
                {"member_id": member, "rating": 3, "text": text, **extra}
            ),
            now=at,
        )
        row = await session.get(Review, created.id)
        assert row is not None
        _store(row, analysis, at)


async def test_problem_table_by_hand(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1", tier="gold")
    start, end = NOW, NOW + timedelta(days=10)
    neg, pos = Label.NEGATIVE, Label.POSITIVE
    current = [
        ("late 1", neg, Topic.DELIVERY, 0.9, "A", "TEA-1"),
        ("late 2", neg, Topic.DELIVERY, 0.5, "A", "TEA-2"),
        ("late 3", neg, Topic.DELIVERY, 0.7, "B", "TEA-1"),
        ("too dear", neg, Topic.PRICE, 0.55, "A", "TEA-1"),
        ("lovely", pos, Topic.GENERAL, 0.0, "A", "TEA-1"),
    ]
    for number, (text, label, topic, severity, store, sku) in enumerate(current):
        at = start + timedelta(days=1, hours=number)
        await _review(
            database, member, text, at, _analysis(label, topic, severity), store=store, sku=sku
        )
    previous = [("late 0", Topic.DELIVERY), ("dear 1", Topic.PRICE), ("dear 2", Topic.PRICE)]
    for number, (text, topic) in enumerate(previous):
        at = start - timedelta(days=2, hours=number)
        await _review(
            database, member, text, at, _analysis(neg, topic, 0.6), store="A", sku="TEA-1"
        )
    async with database.read() as session:
        table = await feedback_service.problems(session, start=start, end=end)
        by_store = await feedback_service.problems(session, start=start, end=end, store="B")
        by_sku = await feedback_service.problems(session, start=start, end=end, sku="TEA-2")
        other_tier = await feedback_service.problems(session, start=start, end=end, tier="silver")
    assert (table.texts, table.negative, table.labels) == (5, 4, {"negative": 4, "positive": 1})
    assert table.previous_start == start - timedelta(days=10)
    rows = [
        (p.topic, p.count, p.share, p.mean_severity, p.score, p.previous_count, p.change, p.trend)
        for p in table.problems
    ]
    assert rows == [
        ("delivery", 3, 0.75, 0.7, 2.1, 1, 2.0, "up"),
        ("price", 1, 0.25, 0.55, 0.55, 2, -0.5, "down"),
    ]
    assert table.problems[0].examples == ["late 1", "late 3", "late 2"]
    assert [(p.topic, p.count, p.trend) for p in by_store.problems] == [("delivery", 1, "new")]
    assert [(p.topic, p.count, p.trend) for p in by_sku.problems] == [("delivery", 1, "new")]
    assert (other_tier.texts, other_tier.problems) == (0, [])


async def test_ticket_texts_are_analysed_and_enter_the_problem_table(database: Database) -> None:
    text = "Курьер опоздал на два часа, еда холодная, верните деньги"
    async with database.write() as session:
        active = await apply_program(session)
        member = await enrol(session, active=active, external_id="m1")
        session.add(segment_row(member, active.program_id, "at_risk"))
        opened = await support_service.open_ticket(
            session,
            member_id=member,
            channel=TicketChannel.PHONE,
            category="delivery",
            subject="Доставка",
            text=text,
            source=TicketSource.STAFF,
            source_ref=None,
            now=NOW,
        )
    later = NOW + timedelta(hours=1)
    async with database.write() as session:
        run = await feedback_service.analyse_pending(session, now=later)
    async with database.write() as session:
        assert (await feedback_service.analyse_pending(session, now=later)).analysed == 0
    (expected,) = analyze([f"Доставка. {text}"], default_language=Language.RU)
    assert run.analysed == 1
    async with database.read() as session:
        stored = await session.get(TicketAnalysis, opened.ticket.id)
        assert stored is not None
        assert (stored.label, stored.topic, stored.analysed_at) == (
            expected.label.value,
            expected.topic.value,
            later,
        )
        window = {"start": NOW - timedelta(days=1), "end": NOW + timedelta(days=1)}
        tickets = await feedback_service.problems(
            session, source=schemas.ProblemSource.TICKETS, **window
        )
        of_segment = await feedback_service.problems(session, segment="at_risk", **window)
        of_other = await feedback_service.problems(session, segment="champion", **window)
    assert tickets.texts == of_segment.texts == 1
    assert of_other.texts == 0
