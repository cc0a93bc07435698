"""KPIs with values computed by hand: NPS = %promoters - %detractors, CSAT = share of 4-5,
CES = mean; per tier, per store, per month; reviews answered within 24 hours."""

from __future__ import annotations

from datetime import datetime, timedelta

from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.kit.db import Database
from patron.programs.feedback_settings import SurveyTrigger
from tests.feedback.factories import NOW, apply_program, enrol, segment_row

APRIL = NOW + timedelta(days=31)


async def _answer(
    database: Database,
    member: int,
    survey: str,
    values: dict[str, str],
    at: datetime,
    store: str | None = None,
) -> None:
    async with database.write() as session:
        invitation = await feedback_service.invite(
            session,
            survey_key=survey,
            member_id=member,
            trigger=SurveyTrigger.MANUAL,
            source_ref=f"{survey}:{at.isoformat()}",
            now=at,
            store=store,
        )
        await feedback_service.submit(session, token=invitation.token, values=values, now=at)


def nps(count: int, promoters: int, passives: int, detractors: int, value: float | None) -> dict:
    return {
        "count": count,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "value": value,
    }


async def test_kpis_by_hand(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        gold1 = await enrol(session, active=active, external_id="g1", tier="gold")
        gold2 = await enrol(session, active=active, external_id="g2", tier="gold")
        silver = await enrol(session, active=active, external_id="s", tier="silver")
        plain = await enrol(session, active=active, external_id="n")
        plain2 = await enrol(session, active=active, external_id="n2")
    # NPS: March 10 (gold, A), 9 (gold, A), 3 (silver, B); April 7 (no tier), 10 (no tier, B)
    await _answer(database, gold1, "nps", {"nps": "10"}, NOW, "A")
    await _answer(database, gold2, "nps", {"nps": "9"}, NOW, "A")
    await _answer(database, silver, "nps", {"nps": "3"}, NOW, "B")
    await _answer(database, plain, "nps", {"nps": "7"}, APRIL)
    await _answer(database, plain2, "nps", {"nps": "10"}, APRIL, "B")
    # CSAT / CES in March: (5, 7) gold, (4, 5) gold, (3, 3) silver, (1, 2) no tier
    for member, csat, ces in ((gold1, 5, 7), (gold2, 4, 5), (silver, 3, 3), (plain, 1, 2)):
        await _answer(database, member, "csat", {"csat": str(csat), "ces": str(ces)}, NOW)
    # Reviews: first replies after 2 h, exactly 24 h, 30 h, never; ratings 5, 4, 2, 1
    for delay, rating in ((2, 5), (24, 4), (30, 2), (None, 1)):
        async with database.write() as session:
            created = await feedback_service.create_review(
                session,
                data=schemas.ReviewCreate(member_id=plain, rating=rating),
                now=NOW,
            )
            if delay is not None:
                await feedback_service.reply(
                    session,
                    review_id=created.id,
                    text="Thank you",
                    author="staff",
                    now=NOW + timedelta(hours=delay),
                )
    async with database.read() as session:
        report = await feedback_service.kpis(
            session, start=NOW - timedelta(days=1), end=NOW + timedelta(days=60)
        )
    overall = report.overall.model_dump()
    assert overall["nps"] == nps(5, 3, 1, 1, 40.0)  # (3 - 1) / 5
    assert overall["csat"] == {"count": 4, "satisfied": 2, "value": 50.0}
    assert overall["ces"] == {"count": 4, "total": 17, "value": 4.25}
    assert {tier: group.nps.value for tier, group in report.per_tier.items()} == {
        "gold": 100.0,
        "none": 50.0,  # 7 and 10: one passive, one promoter
        "silver": -100.0,
    }
    assert report.per_tier["gold"].csat.value == 100.0
    assert report.per_tier["gold"].ces.value == 6.0
    assert report.per_tier["none"].ces.value == 2.0
    assert {store: group.nps.model_dump() for store, group in report.per_store.items()} == {
        "A": nps(2, 2, 0, 0, 100.0),
        "B": nps(2, 1, 0, 1, 0.0),
    }
    assert {month: group.nps.value for month, group in report.monthly.items()} == {
        "2026-03": 33.33,  # (2 - 1) / 3
        "2026-04": 50.0,
    }
    assert report.monthly["2026-04"].csat.count == 0
    assert report.monthly["2026-04"].csat.value is None
    assert report.reviews.model_dump() == {
        "count": 4,
        "answered": 3,
        "answered_within_24h": 2,
        "share_answered_within_24h": 0.5,
        "mean_rating": 3.0,
    }
    async with database.read() as session:
        march = await feedback_service.kpis(session, start=NOW, end=NOW + timedelta(days=10))
        empty = await feedback_service.kpis(session, start=NOW - timedelta(days=9), end=NOW)
    assert march.overall.nps.model_dump() == nps(3, 2, 0, 1, 33.33)
    assert empty.overall.nps.model_dump() == nps(0, 0, 0, 0, None)
    assert empty.reviews.share_answered_within_24h is None


async def test_kpis_per_segment(database: Database) -> None:
    async with database.write() as session:
        active = await apply_program(session)
        first = await enrol(session, active=active, external_id="c1")
        second = await enrol(session, active=active, external_id="c2")
        third = await enrol(session, active=active, external_id="r1")
        unscored = await enrol(session, active=active, external_id="x")
        for member, name in ((first, "champion"), (second, "champion"), (third, "at_risk")):
            session.add(segment_row(member, active.program_id, name))
    for member, score in ((first, "10"), (second, "6"), (third, "2"), (unscored, "9")):
        await _answer(database, member, "nps", {"nps": score}, NOW)
    async with database.read() as session:
        report = await feedback_service.kpis(
            session, start=NOW - timedelta(days=1), end=NOW + timedelta(days=1)
        )
    assert {name: group.nps.model_dump() for name, group in report.per_segment.items()} == {
        "at_risk": nps(1, 0, 0, 1, -100.0),
        "champion": nps(2, 1, 0, 1, 0.0),  # one promoter, one detractor
        "none": nps(1, 1, 0, 0, 100.0),
    }
