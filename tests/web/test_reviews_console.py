"""The console's reviews (``/admin/reviews``, staff and admin): the reviews waiting for a
reply first, a reply (once, however often the form is sent) that moves the review out of
that list, publishing and hiding, every change audited; the API's new ``answered`` filter.
On both databases."""

from __future__ import annotations

import re
from contextlib import aclosing
from datetime import UTC, datetime

from sqlalchemy import select

from patron.audit.models import AuditEntry
from patron.feedback import service as feedback_service
from patron.feedback.schemas import ReviewCreate
from patron.members.schemas import MemberCreate
from patron.members.service import enrol_member
from patron.programs import service as program_service
from tests.web.conftest import Console, form_token

NOW = datetime(2026, 11, 2, 10, tzinfo=UTC)


async def _reviews(console: Console) -> list[int]:
    async with console.database.write() as session:
        active = await program_service.get_active_program(session)
        member = await enrol_member(
            session, program_id=active.program_id, data=MemberCreate(external_id="r-1"), now=NOW
        )
        made = [
            await feedback_service.create_review(
                session,
                data=ReviewCreate(member_id=member.id, rating=rating, text=text),
                now=NOW,
            )
            for rating, text in ((2, "Кофе был холодный"), (5, "Świetna herbata"))
        ]
    return [review.id for review in made]


def _listed(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'href="/admin/reviews/(\d+)"', page)]


async def test_staff_reply_to_the_waiting_reviews_and_publish_one(console: Console) -> None:
    cold, tea = await _reviews(console)
    client, token = await console.logged_in("staff")
    async with aclosing(client):
        waiting = await client.get("/admin/reviews?lang=en")
        assert waiting.status_code == 200
        assert _listed(waiting.text) == [cold, tea]  # oldest first: the order to work them
        assert "Кофе был холодный" in waiting.text
        assert "2 of 5" in waiting.text
        page = await client.get(f"/admin/reviews/{cold}?lang=en")
        key = re.search(r'name="key" value="([^"]+)"', page.text)
        assert key is not None
        form = {"csrf_token": form_token(page.text), "key": key.group(1)}
        for _ in range(2):  # a second submission of the same form adds nothing
            sent = await client.post(
                f"/admin/reviews/{cold}/reply", data={**form, "text": "Простите, исправим!"}
            )
            assert sent.headers["location"] == f"/admin/reviews/{cold}?notice=replied#replies"
        empty = await client.post(f"/admin/reviews/{cold}/reply", data={**form, "text": "  "})
        assert empty.headers["location"] == f"/admin/reviews/{cold}?notice=empty"
        shown = await client.get(f"/admin/reviews/{cold}?lang=ru")
        assert shown.text.count("Простите, исправим!") == 1
        assert _listed((await client.get("/admin/reviews")).text) == [tea]
        assert _listed((await client.get("/admin/reviews?show=all")).text) == [cold, tea]
        published = await client.post(
            f"/admin/reviews/{tea}/publish", data={"csrf_token": token, "published": "true"}
        )
        assert published.headers["location"] == f"/admin/reviews/{tea}?notice=published"
        assert "Hide from the public" in (await client.get(f"/admin/reviews/{tea}?lang=en")).text
        missing = await client.get("/admin/reviews/999999")
        assert missing.status_code == 404
        forged = await client.post(
            f"/admin/reviews/{tea}/reply", data={"csrf_token": "x", "text": "hi"}
        )
        assert forged.status_code == 403
    async with console.database.read() as session:
        answered = await feedback_service.list_reviews(session, answered=True)
        waiting_now = await feedback_service.list_reviews(session, answered=False)
        tea_now = await feedback_service.get_review(session, review_id=tea)
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
        audited = [(row.action, row.target, row.user_id) for row in rows]
    assert [review.id for review in answered.items] == [cold]
    assert [len(review.replies) for review in answered.items] == [1]
    assert [review.id for review in waiting_now.items] == [tea]
    assert tea_now.is_published
    staff = console.user_ids["staff"]
    assert audited == [
        ("reviews.reply", f"review:{cold}", staff),
        ("reviews.reply", f"review:{cold}", staff),  # the retry: audited, nothing added
        ("reviews.publish", f"review:{tea}", staff),
    ]
