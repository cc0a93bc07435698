"""Security headers on every answer (issue 16, part 4).

Every answer says ``X-Content-Type-Options: nosniff``. HTML pages (the survey and unsubscribe
pages, ``/docs``) also get a Content-Security-Policy that allows only the server's own
scripts and no framing, ``X-Frame-Options: DENY`` for older browsers (left off a page whose own
policy lets named origins frame it: the member portal, embedded by a shop), and
``Referrer-Policy: no-referrer``: the survey and unsubscribe links carry a token in their path,
which must not leak to another site through a link on the page.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Swagger UI starts itself with an inline script (fastapi's page)
DOCS_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] == "/docs" else PAGE_POLICY

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("content-security-policy", policy)
                    if "frame-ancestors 'none'" in headers["content-security-policy"]:
                        # not when a page's own policy lets a shop frame it (the portal)
                        headers.setdefault("x-frame-options", "DENY")
                    headers.setdefault("referrer-policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, with_headers)
