"""The feedback endpoints: the answer page, analysis, reviews, KPIs, problems (the roles:
``tests/api/test_role_matrix.py``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from patron.feedback import service as feedback_service
from patron.feedback.analysis import analyze
from patron.kit.time import utcnow
from patron.members.models import Language
from patron.programs.feedback_settings import SurveyTrigger
from tests.api.conftest import Api
from tests.api.paging import assert_each_once
from tests.feedback.factories import NOW, apply_program, counts, enrol


async def _setup(api: Api, language: Language = Language.RU) -> int:
    async with api.database.write() as session:
        active = await apply_program(session)
        return await enrol(session, active=active, external_id="m1", language=language)


async def test_answer_page_flow(api: Api) -> None:
    member = await _setup(api)
    invited = await api.call(
        "POST", "/surveys/nps/invitations", json={"member_ids": [member], "source_ref": "dec"}
    )
    assert invited.status_code == 200, invited.text
    [invitation] = invited.json()["invitations"]
    link = invitation["link"]
    page = await api.client.get(link)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="ru">' in page.text
    assert "Порекомендуете ли вы нас друзьям?" in page.text
    assert f'action="{link}"' in page.text
    assert page.text.count('type="radio" name="nps"') == 11
    assert "<script" not in page.text
    for score in ("²", "١"):  # digits to str.isdigit: int("²") raised (500), "١" read as 1
        other = await api.client.post(link, data={"nps": score})
        assert other.status_code == 422, other.text
    wrong = await api.client.post(link, data={"nps": "12", "why": "Курьер <b>опоздал</b>"})
    assert wrong.status_code == 422
    assert "Пожалуйста, выберите один из вариантов ответа." in wrong.text
    assert "Курьер &lt;b&gt;опоздал&lt;/b&gt;</textarea>" in wrong.text
    done = await api.client.post(link, data={"nps": "9", "why": "Курьер опоздал"})
    assert done.status_code == 200
    assert "Спасибо!" in done.text
    assert "На ваш счёт начислено: 50 баллов." in done.text
    async with api.database.read() as session:
        after = await counts(session)
    for again in (await api.client.get(link), await api.client.post(link, data={"nps": "1"})):
        assert again.status_code == 409
        assert "По этой ссылке уже ответили. Спасибо за ваши ответы!" in again.text
    async with api.database.read() as session:
        assert await counts(session) == after
    responses = (await api.call("GET", "/surveys/nps/responses", role="staff")).json()
    assert [(r["member_id"], r["points"]) for r in responses["items"]] == [(member, 50)]
    unknown = await api.client.get("/s/not-a-token")
    assert unknown.status_code == 404
    assert "Link not found" in unknown.text


async def test_expired_link_page(api: Api) -> None:
    member = await _setup(api, Language.PL)
    async with api.database.write() as session:
        invitation = await feedback_service.invite(
            session,
            survey_key="nps",
            member_id=member,
            trigger=SurveyTrigger.MANUAL,
            source_ref="old",
            now=NOW,  # valid 14 days from March 2026
        )
    expired = await api.client.post(invitation.link, data={"nps": "9"})
    assert expired.status_code == 410
    assert "Link wygasł" in expired.text
    async with api.database.read() as session:
        assert (await counts(session))["responses"] == 0


async def test_analyze_endpoint_contract(api: Api) -> None:
    texts = [
        "Курьер опоздал на два часа, еда холодная, больше не закажу",
        "Świetna kawa i bardzo miła obsługa, polecam!",
        "Please add oat milk to the menu",
    ]
    response = await api.call("POST", "/feedback/analyze", role="staff", json={"texts": texts})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    expected = analyze(texts)
    assert [set(row) for row in results] == [
        {"language", "label", "probability", "keywords", "topic"}
    ] * 3
    assert [row["language"] for row in results] == ["ru", "pl", "en"]
    for row, result in zip(results, expected, strict=True):
        assert row == {
            "language": result.language.value,
            "label": result.label.value,
            "probability": round(result.probability, 4),
            "keywords": list(result.keywords),
            "topic": result.topic.value,
        }
    too_many = await api.call("POST", "/feedback/analyze", json={"texts": ["x"] * 1001})
    assert too_many.status_code == 422


async def test_reviews_through_the_api(api: Api) -> None:
    member = await _setup(api)
    created = await api.call(
        "POST",
        "/reviews",
        role="pos",
        headers={"X-Patron-Member-External-Id": "m1"},
        json={"member_id": member, "rating": 1, "text": "Bad", "idempotency_key": "k"},
    )
    assert created.status_code == 201, created.text
    review = created.json()
    assert (review["points"], review["needs_follow_up"], review["is_published"]) == (
        20,
        True,
        False,
    )
    again = await api.call(
        "POST",
        "/reviews",
        role="pos",
        headers={"X-Patron-Member-External-Id": "m1"},
        json={"member_id": member, "rating": 1, "text": "Bad", "idempotency_key": "k"},
    )
    assert again.json() == review
    replied = await api.call(
        "POST", f"/reviews/{review['id']}/replies", role="staff", json={"text": "Sorry"}
    )
    assert replied.status_code == 200
    assert [(r["author"], r["text"]) for r in replied.json()["replies"]] == [
        ("test-staff", "Sorry")
    ]
    assert replied.json()["response_seconds"] >= 0
    published = await api.call(
        "POST", f"/reviews/{review['id']}/publish", role="staff", json={"published": True}
    )
    assert published.json()["is_published"] is True
    missing = await api.call("GET", "/reviews/999999", role="staff")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "review_not_found")
    kpis = (await api.call("GET", "/feedback/kpis", role="staff")).json()
    assert kpis["reviews"]["count"] == 1
    assert kpis["reviews"]["answered_within_24h"] == 1
    follow = (await api.call("GET", "/feedback/follow-ups", role="staff")).json()
    assert [(f["kind"], f["id"]) for f in follow] == [("review", review["id"])]


async def test_period_checks(api: Api) -> None:
    await _setup(api)
    now = utcnow()
    bad = await api.call(
        "GET",
        "/feedback/problems",
        params={"start": now.isoformat(), "end": (now - timedelta(days=1)).isoformat()},
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "start")
    ancient = await api.call("GET", "/feedback/kpis", params={"start": "0001-01-01T00:00:00+01:00"})
    assert (ancient.status_code, ancient.json()["error"]["field"]) == (422, "start")
    empty = await api.call("GET", "/feedback/problems")
    assert (empty.status_code, empty.json()["problems"], empty.json()["texts"]) == (200, [], 0)
    conflict = await api.call("PATCH", "/surveys/nps", json={"points": 1})
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (
        409,
        "survey_in_program_file",
    )


async def test_responses_page_by_cursor_each_once(api: Api) -> None:
    """docs/api.md, "Lists and pages": the survey's responses, walked by ``next_cursor``."""
    async with api.database.write() as session:
        active = await apply_program(session)
        members = [
            await enrol(session, active=active, external_id=f"r{n}", language=Language.EN)
            for n in range(4)
        ]
    invited = await api.call(
        "POST", "/surveys/nps/invitations", json={"member_ids": members, "source_ref": "walk"}
    )
    assert invited.status_code == 200, invited.text
    for invitation in invited.json()["invitations"]:
        answered = await api.client.post(invitation["link"], data={"nps": "9"})
        assert answered.status_code == 200, answered.text

    async def get(params: dict[str, Any]) -> httpx.Response:
        return await api.call("GET", "/surveys/nps/responses", role="staff", params=params)

    ids = await assert_each_once(get)
    assert len(ids) == 4
