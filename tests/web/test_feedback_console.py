"""The console's feedback (``/admin/feedback``): NPS, CSAT, CES and reviews answered in 24
hours over a period, the ranked problem table and the latest survey answers with their
sentiment and language, as the API's ``/feedback/kpis``, ``/feedback/problems`` and survey
responses give them. On SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import aclosing
from datetime import timedelta

from patron.feedback import service as feedback_service
from patron.feedback.analysis.features import AnalysisMode
from patron.kit.time import utcnow
from patron.web.messages import labels
from tests.api.conftest import Api
from tests.api.conftest import api as api
from tests.privacy.conftest import ANNA, ANSWER_TEXT, populate
from tests.web.test_member_360 import _console, _text

COMPLAINT = "The courier was two hours late, the food arrived cold. Terrible delivery."
SENTIMENTS = {"positive": "positive", "neutral": "neutral", "negative": "negative"}
LANGUAGES = {"en": "English", "pl": "Polski", "ru": "Русский"}


async def test_the_feedback_page_shows_the_kpis_problems_and_latest_answers(api: Api) -> None:
    made = await populate(api)  # Anna: NPS 3 with a text, a 2-star review; Ivan: 5 stars
    review = {"member_id": made.member_id, "rating": 1, "text": COMPLAINT}
    created = await api.call("POST", "/reviews", "pos", json=review, headers=ANNA)
    assert created.status_code == 201, created.text
    async with api.database.write() as session:  # the daily job's analysis (the fast model)
        run = await feedback_service.analyse_pending(session, now=utcnow(), mode=AnalysisMode.FAST)
    assert run.analysed >= 2
    start = (utcnow() - timedelta(days=30)).isoformat()
    kpis = (await api.call("GET", "/feedback/kpis", "staff", params={"start": start})).json()
    problems = await api.call("GET", "/feedback/problems", "staff", params={"start": start})
    table = problems.json()
    responses = (await api.call("GET", "/surveys/nps/responses", "staff")).json()["items"]
    answer = next(a for a in responses[0]["answers"] if a["text"] == ANSWER_TEXT)
    nps = kpis["overall"]["nps"]
    assert nps["count"] == 1
    console = await _console(api)
    staff, _ = await console.logged_in("staff")
    async with aclosing(staff):
        page = await staff.get("/admin/feedback?period=30&lang=en")
        russian = await staff.get("/admin/feedback?period=30&lang=ru")
        polish = await staff.get("/admin/feedback?period=nonsense&lang=pl")
    assert page.status_code == 200
    text = _text(page.text)
    assert f"NPS {round(nps['value'])} 1 answer:" in text
    assert f"{nps['detractors']} detractors" in text
    assert f"{kpis['reviews']['count']} reviews" in text
    assert f"{table['texts']} texts analysed" in text
    ranked = [problem for problem in table["problems"] if problem["count"] > 0]
    assert ranked, table  # the 1-star review's complaint at least
    rows = text.split("Latest survey answers")[0]
    topics = labels("en")["topic"]
    for problem in ranked:
        assert f"{topics[problem['topic']]} {problem['count']} " in rows
    # the latest answer: the member (linked), the survey, the text, its sentiment and language
    assert f'<a href="/admin/members/{made.member_id}">Anna Petrova</a>' in page.text
    assert ANSWER_TEXT in text
    assert f"nps: 3 why: {ANSWER_TEXT} {SENTIMENTS[answer['analysis']['label']]}" in text
    assert LANGUAGES[answer["analysis"]["language"]] in text.split(ANSWER_TEXT)[1]
    assert "Обратная связь" in russian.text
    assert "1 ответ" in _text(russian.text)
    assert polish.status_code == 200
    assert '<option value="30" selected>' in polish.text  # an unknown period: the default


async def test_without_feedback_the_page_says_so(api: Api) -> None:
    console = await _console(api)
    staff, _ = await console.logged_in("staff")
    async with aclosing(staff):
        page = await staff.get("/admin/feedback?lang=en")
    assert page.status_code == 200
    text = _text(page.text)
    assert "No complaint in this period." in text
    assert "No survey answers." in text
    assert "0 answers" in text
