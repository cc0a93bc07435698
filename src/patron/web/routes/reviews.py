"""Reviews (``/admin/reviews``, staff and admin): those waiting for a reply first (oldest
first: the order to work them), or those flagged for a follow-up, or all; one review with its
analysis (sentiment, topic, keywords), its replies, a reply form and publishing.

The same services as ``/api/v1/reviews``; a reply's one-time form key makes a second
submission add nothing; each change is audited with the console user (``reviews.reply``,
``reviews.publish``, the API's actions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from patron.feedback import service as feedback_service
from patron.kit.errors import NotFoundError, PatronError
from patron.kit.ids import random_token
from patron.kit.strict import DIGITS
from patron.kit.time import utcnow
from patron.web.audit import audited
from patron.web.auth import StaffSession, checked_form, database_of, remember
from patron.web.messages import error_text
from patron.web.params import PageId
from patron.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
ReviewId = PageId
SHOWS = ("waiting", "follow_up", "all")
NOTICES = ("replied", "empty", "published", "hidden")
MAX_REPLY = 5000
SHOWN = 50


def show_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "waiting": _("Waiting for a reply"),
        "follow_up": _("Flagged for a follow-up"),
        "all": _("All reviews"),
    }


def sentiment_labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {"positive": _("positive"), "neutral": _("neutral"), "negative": _("negative")}


def _missing(request: Request, error: PatronError) -> Response:
    context = {"title": error_text(error, request.state.language), "message": ""}
    return render(request, "error.html", context, status_code=404)


@router.get("/admin/reviews")
async def reviews_page(
    request: Request,
    _: StaffSession,
    show: str = "waiting",
    after: Annotated[int | None, Query(ge=0, le=2**62), DIGITS] = None,
) -> Response:
    chosen = show if show in SHOWS else "waiting"
    filters: dict[str, Any] = {}
    if chosen == "waiting":
        filters["answered"] = False
    elif chosen == "follow_up":
        filters["needs_follow_up"] = True
    async with database_of(request).read() as session:
        try:
            page = await feedback_service.list_reviews(session, after=after, limit=SHOWN, **filters)
        except PatronError as error:
            return _missing(request, error)
    language: str = request.state.language
    context = {
        "reviews": page.items,
        "show": chosen,
        "shows": show_labels(language),
        "sentiments": sentiment_labels(language),
        "next_after": page.next_after,
    }
    return remember(request, render(request, "reviews.html", context))


@router.get("/admin/reviews/{review_id}")
async def review_page(
    request: Request, _: StaffSession, review_id: ReviewId, notice: str = ""
) -> Response:
    async with database_of(request).read() as session:
        try:
            review = await feedback_service.get_review(session, review_id=review_id)
        except NotFoundError as error:
            return _missing(request, error)
    context = {
        "review": review,
        "sentiments": sentiment_labels(request.state.language),
        "reply_key": random_token(16),  # one per form: a second submit adds nothing
        "notice": notice if notice in NOTICES else "",
    }
    return remember(request, render(request, "review.html", context))


@router.post("/admin/reviews/{review_id}/reply")
async def reply(request: Request, console: StaffSession, review_id: ReviewId) -> Response:
    form = await checked_form(request, console)
    page = f"/admin/reviews/{review_id}"
    text = form.get("text", "").strip()
    if not text or len(text) > MAX_REPLY or "\x00" in text:
        return RedirectResponse(f"{page}?notice=empty", status_code=303)
    key = form.get("key", "")[:64] or None
    try:
        async with database_of(request).write() as session:
            await feedback_service.reply(
                session,
                review_id=review_id,
                text=text,
                author=console.user.email,
                now=utcnow(),
                idempotency_key=f"console:{key}" if key else None,
            )
            await audited(session, console, "reviews.reply", f"review:{review_id}")
    except NotFoundError as error:
        return _missing(request, error)
    return RedirectResponse(f"{page}?notice=replied#replies", status_code=303)


@router.post("/admin/reviews/{review_id}/publish")
async def publish(request: Request, console: StaffSession, review_id: ReviewId) -> Response:
    form = await checked_form(request, console)
    shown = form.get("published", "") == "true"
    try:
        async with database_of(request).write() as session:
            await feedback_service.publish(session, review_id=review_id, published=shown)
            await audited(session, console, "reviews.publish", f"review:{review_id}")
    except NotFoundError as error:
        return _missing(request, error)
    notice = "published" if shown else "hidden"
    return RedirectResponse(f"/admin/reviews/{review_id}?notice={notice}", status_code=303)
