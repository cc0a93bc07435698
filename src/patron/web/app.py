"""``install_console(app)``: the console's pages, the member portal's, static files and error
pages on the API's FastAPI app (one server answers both)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from patron.web.auth import (
    CsrfRejected,
    Forbidden,
    LoginRequired,
    login_address,
    page_language,
)
from patron.web.member_auth import PortalLoginRequired, anyone_language
from patron.web.page_errors import install_page_errors
from patron.web.routes import (
    campaigns,
    coupons,
    dashboard,
    feedback,
    keys,
    member_privacy,
    members,
    messages,
    partners,
    portal,
    portal_join,
    portal_login,
    portal_profile,
    portal_referral,
    portal_surveys,
    portal_wallet,
    program,
    reviews,
    rewards,
    segments,
    session,
    survey_link,
    ticket_goodwill,
    tickets,
    users,
    webhooks,
)
from patron.web.templating import gettext_for, render

STATIC = Path(str(resources.files("patron.web") / "static"))
PLOTLY = Path(str(resources.files("plotly") / "package_data"))


async def _login_required(request: Request, _: Exception) -> Response:
    address = login_address(request)
    if request.headers.get("hx-request") == "true":
        # htmx follows a redirect inside the fragment; send the whole page to the login
        return Response(status_code=204, headers={"HX-Redirect": address})
    return RedirectResponse(address, status_code=303)


async def _portal_login_required(request: Request, _: Exception) -> Response:
    """A portal page without a member session: how to get a login link (401)."""
    return render(request, "portal/signed_out.html", {"logged_out": False}, status_code=401)


async def _refused(request: Request, error: Exception) -> Response:
    if request.url.path.startswith("/portal"):
        if getattr(request.state, "language", None) is None:
            await anyone_language(request)
        _ = gettext_for(request.state.language)
        title, message = _("The form has expired"), _("Go back, reload the page and try again.")
        context = {"title": title, "message": message}
        return render(request, "portal/error.html", context, status_code=403)
    await page_language(request)
    _ = gettext_for(request.state.language)
    if isinstance(error, CsrfRejected):
        title = _("The form has expired")
        message = _("Go back, reload the page and try again.")
    else:
        title = _("Not allowed")
        message = _("Your role may not open this page.")
    return render(request, "error.html", {"title": title, "message": message}, status_code=403)


def install_console(app: FastAPI) -> None:
    routers = (
        session.router,
        dashboard.router,
        members.router,
        member_privacy.router,
        campaigns.router,
        coupons.router,
        program.router,
        tickets.router,
        ticket_goodwill.router,
        messages.router,
        reviews.router,
        feedback.router,
        segments.router,
        rewards.router,
        users.router,
        keys.router,
        partners.router,
        webhooks.router,
        portal_login.router,
        portal.router,
        portal_surveys.router,
        portal_referral.router,
        portal_join.router,
        portal_wallet.router,
        portal_profile.router,
        survey_link.router,
    )
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(PortalLoginRequired, _portal_login_required)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _refused)
    app.add_exception_handler(CsrfRejected, _refused)
    install_page_errors(app)  # after the API's handlers, which it wraps
    # plotly.js from the installed plotly package (never a CDN); mounted before the
    # console's own files, whose mount would otherwise take its path
    app.mount("/static/web/plotly", StaticFiles(directory=PLOTLY), name="web-plotly")
    app.mount("/static/web", StaticFiles(directory=STATIC), name="web")
