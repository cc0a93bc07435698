"""The outermost gate of every request: the API key first, then a bounded body.

Starlette and FastAPI read a request's whole body before a route's dependencies run, so
without this gate an unauthenticated client could make the server hold any number of bytes
(one 67 MB POST raised the server's memory by 380 MB). :class:`RequestGuard` therefore

- answers a request under ``/api/v1`` without a valid key (401 ``missing_api_key`` or
  ``invalid_api_key``) before a byte of its body is read; the principal it found is kept on
  the request's scope, so :func:`patron.api.deps.principal` does not look the key up again;
- answers 413 ``payload_too_large`` for a body above the path's limit: at once when
  ``Content-Length`` says so, else as soon as the bytes received pass it (a chunked body).

The limits (:class:`BodyLimits`) are ``PATRON_MAX_BODY_BYTES`` (default 1 MiB) for every
request and ``PATRON_MAX_BATCH_BODY_BYTES`` (default 8 MiB) for the batch routes
(``POST /purchases/batch``, ``POST /members/batch``); docs/operations.md lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patron.access import service as access_service
from patron.access.errors import ApiKeyMissingError
from patron.access.revocation import FileWatch, NotifyWatch, signal_path
from patron.access.schemas import Principal
from patron.api.throttle import Throttles, TooManyRequestsError, is_lookup
from patron.kit.db import Database
from patron.kit.errors import PatronError, UnauthorizedError
from patron.kit.text import ascii_digits
from patron.kit.time import utcnow

MAX_BODY_ENV = "PATRON_MAX_BODY_BYTES"
MAX_BATCH_BODY_ENV = "PATRON_MAX_BATCH_BODY_BYTES"
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_MAX_BATCH_BODY = 8 * 1024 * 1024
API_PREFIX = "/api/v1"
METRICS_PATH = "/metrics"  # keyed too (admin): app.py
BATCH_PATHS = frozenset({f"{API_PREFIX}/purchases/batch", f"{API_PREFIX}/members/batch"})
# where the guard leaves the principal it found, for ``deps.principal`` (and the request log)
PRINCIPAL_SCOPE_KEY = "patron.principal"
# where it leaves the code of a refusal it answered, for the request log (api/observe.py)
REFUSAL_SCOPE_KEY = "patron.refusal"


class PayloadTooLargeError(PatronError):
    code = "payload_too_large"
    status = 413


@dataclass(frozen=True)
class BodyLimits:
    """The most bytes a request body may have: ``batch`` on :data:`BATCH_PATHS`, ``default``
    elsewhere."""

    default: int = DEFAULT_MAX_BODY
    batch: int = DEFAULT_MAX_BATCH_BODY

    def for_path(self, path: str) -> int:
        return self.batch if path in BATCH_PATHS else self.default

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> BodyLimits:
        """The limits the environment sets (a bad value is a ValueError: the server does not
        start)."""
        return cls(
            default=_byte_count(environ, MAX_BODY_ENV, DEFAULT_MAX_BODY),
            batch=_byte_count(environ, MAX_BATCH_BODY_ENV, DEFAULT_MAX_BATCH_BODY),
        )


def _byte_count(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not ascii_digits(value) or not 1 <= int(value) <= 2**40:
        raise ValueError(f"{name} must be a whole number of bytes from 1 to 2**40, not {value!r}")
    return int(value)


def bearer_secret(headers: Headers) -> str:
    """The key of ``Authorization: Bearer <key>``, or :class:`ApiKeyMissingError`."""
    scheme, _, secret = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiKeyMissingError("send an API key as 'Authorization: Bearer <key>'")
    return secret.strip()


async def authenticate_headers(headers: Headers, database: Database) -> Principal:
    """The principal of the request's key (401 errors when it has none or an unknown,
    revoked or expired one). A key read from the database has its use recorded."""
    secret = bearer_secret(headers)
    known = access_service.cached_principal(secret)
    if known is not None:
        return known
    async with database.read() as session:
        principal = await access_service.authenticate(session, secret=secret)
    task = asyncio.create_task(_note_use(database, principal.key_id))
    _background.add(task)
    task.add_done_callback(_background.discard)
    return principal


_background: set[asyncio.Task[None]] = set()


async def _note_use(database: Database, key_id: int) -> None:
    """``last_used_at`` of the key, in a unit of work of its own after the request's reads
    (at most once a minute a key: a write the request never waits for)."""
    with contextlib.suppress(Exception):  # a busy database: the time is noted next time
        async with database.write() as session:
            await access_service.note_use(session, key_id=key_id, now=utcnow())


class _Revocations:
    """The server process's revocation watch (:mod:`patron.access.revocation`)."""

    def __init__(self, notify: NotifyWatch | None) -> None:
        self.notify = notify

    async def stop(self) -> None:
        access_service.install_watch(None)
        if self.notify is not None:
            await self.notify.stop()


async def watch_revocations(database: Database) -> _Revocations:
    """Install this process's watch: a signal file beside a SQLite database, a LISTEN
    connection to PostgreSQL."""
    if database.is_sqlite:
        path = signal_path(make_url(database.url).database)
        if path is not None:
            access_service.install_watch(FileWatch(path, access_service.clear_cache))
        return _Revocations(None)
    notify = NotifyWatch(access_service.clear_cache)
    await notify.start(database.url)
    access_service.install_watch(notify)
    return _Revocations(notify)


class BodyTooLargeError(HTTPException):
    """Raised by the bounded ``receive`` as the body passes its limit. An HTTP exception, so
    that FastAPI's body reader passes it on (it turns any other error into a 400) and the
    app's handler answers it as 413 ``payload_too_large``."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit).message)


class RequestGuard:
    """ASGI middleware, outside every other layer of the app (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, limits: BodyLimits, throttles: Throttles | None = None
    ) -> None:
        self.app = app
        self.limits = limits
        self.throttles = throttles or Throttles.from_environment({})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        client = self.throttles.client(scope)
        guesses: str | None = None  # who a 404 here counts against (lookups of codes, tokens)
        try:
            principal = None
            if path.startswith(API_PREFIX + "/") or path in (API_PREFIX, METRICS_PATH):
                self.throttles.auth.check(client)
                principal = await self._authenticate(headers, scope, client)
            if is_lookup(path, API_PREFIX):
                guesses = f"key:{principal.key_id}" if principal else f"address:{client}"
                self.throttles.lookups.check(guesses)
            limit = self.limits.for_path(path)
            declared = headers.get("content-length", "")
            if ascii_digits(declared) and int(declared) > limit:
                raise _too_large(limit)
        except PatronError as error:
            await _answer(error, scope, receive, send)
            return
        await self._bounded(scope, receive, send, limit, guesses)

    async def _authenticate(self, headers: Headers, scope: Scope, client: str) -> Principal:
        database: Database = scope["app"].state.database
        try:
            principal = await authenticate_headers(headers, database)
        except UnauthorizedError:
            self.throttles.auth.fail(client)
            raise
        scope.setdefault("state", {})[PRINCIPAL_SCOPE_KEY] = principal
        return principal

    async def _bounded(
        self, scope: Scope, receive: Receive, send: Send, limit: int, guesses: str | None
    ) -> None:
        """Run the app with a ``receive`` that stops at ``limit`` bytes of body; a 404 counts
        against ``guesses``."""
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if guesses is not None and message["status"] == 404:
                    self.throttles.lookups.fail(guesses)
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLargeError:
            if started:
                raise
            await _answer(_too_large(limit), scope, receive, send)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the request body is larger than {limit} bytes")


async def _answer(error: PatronError, scope: Scope, receive: Receive, send: Send) -> None:
    scope.setdefault("state", {})[REFUSAL_SCOPE_KEY] = error.code
    response = JSONResponse(error.to_dict(), status_code=error.status)
    if error.status == 413:
        response.headers["Connection"] = "close"
    if isinstance(error, TooManyRequestsError):
        response.headers["Retry-After"] = str(error.retry_after)
    await response(scope, receive, send)
