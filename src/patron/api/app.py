"""The FastAPI application: ``/api/v1``, ``/openapi.json`` and offline ``/docs``."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

import patron
from patron.api.deps import (
    WRITE_GROUPS_ENV,
    Admin,
    DatabaseDep,
    refuse_unstorable_text,
    write_group_limit,
)
from patron.api.direct import install_direct_lane
from patron.api.errors import install_error_handlers, install_shadowed_405
from patron.api.guard import BodyLimits, RequestGuard, watch_revocations
from patron.api.headers import SecurityHeaders
from patron.api.observe import RequestObserver
from patron.api.responses import install_error_responses
from patron.api.routes import ROUTERS, purchases, unsubscribe_page
from patron.api.routes.purchases import record_purchase_fast
from patron.api.throttle import Throttles
from patron.feedback.analysis import AnalysisMode
from patron.feedback.analysis.model import warm_up_in_background
from patron.kit import metrics
from patron.kit.db import Database
from patron.kit.outbox_ops import outbox_backlog
from patron.kit.time import utcnow
from patron.web.app import install_console
from patron.worker.loop import run_worker

API_PREFIX = "/api/v1"
_SWAGGER_STATIC = Path(fastapi_offline.__file__).parent / "static"


IN_PROCESS_WORKER_ENV = "PATRON_IN_PROCESS_WORKER"


WORKER_NUMBER_ENV = "PATRON_WORKER_NUMBER"


def worker_number() -> int:
    """This server process's number among ``patron serve --workers N`` (1 alone)."""
    value = os.environ.get(WORKER_NUMBER_ENV, "1")
    return int(value) if value.isdigit() else 1


def create_app(database_url: str | None = None, *, dispatch: bool | None = None) -> FastAPI:
    """Build the app; the database opens on startup and closes on shutdown. With
    ``dispatch`` (default: ``$PATRON_IN_PROCESS_WORKER`` is ``1``), the outbox dispatcher and
    the pollers run in the server's event loop (:mod:`patron.worker.loop`)."""
    if dispatch is None:
        dispatch = os.environ.get(IN_PROCESS_WORKER_ENV) == "1"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = Database(database_url)
        revocations = await watch_revocations(app.state.database)
        # what the worker holds once started (modules, models, schemas: about 200,000
        # objects) is never garbage: out of the collector's sight, a full collection under
        # load takes about 2 ms instead of 100+ ms, during which every request of the
        # worker waits (the accrual benchmark's p99)
        gc.collect()
        gc.freeze()
        warm_up_in_background([AnalysisMode.FAST, AnalysisMode.ACCURATE])
        stop = asyncio.Event()
        worker = (
            asyncio.create_task(run_worker(app.state.database, stop=stop)) if dispatch else None
        )
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            await revocations.stop()
            await app.state.database.dispose()

    app = FastAPI(
        title="Patron",
        version=patron.__version__,
        description="Customer-loyalty platform API. Send `Authorization: Bearer <key>`.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(refuse_unstorable_text)],
    )
    # read before the first request, so that a bad value stops the server at its start
    app.state.write_group_limit = write_group_limit(os.environ.get(WRITE_GROUPS_ENV))
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(unsubscribe_page.router)
    install_console(app)
    install_direct_lane(app, {("POST", API_PREFIX + purchases.router.prefix): record_purchase_fast})
    limits = BodyLimits.from_environment(os.environ)
    install_error_responses(app, limits.for_path)
    install_shadowed_405(app)
    # outermost: the key is checked and the body bounded before any other layer reads it
    app.add_middleware(
        RequestGuard,
        limits=limits,
        throttles=Throttles.from_environment(os.environ),
    )
    app.add_middleware(SecurityHeaders)  # outside the guard: its refusals get them too
    app.add_middleware(RequestObserver)  # outermost: every answer is logged and counted
    app.mount("/static/swagger", StaticFiles(directory=_SWAGGER_STATIC), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Patron API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon.png",
        )

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str | int]:
        # the answering process (with several workers, which one took the connection), as
        # its number from 1, never its process id (issue 16)
        return {"status": "ok", "worker": worker_number()}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(_caller: Admin, database: DatabaseDep) -> Response:
        # the guard checked the key before (401, and its throttle, as under /api/v1)
        async with database.read() as session:
            backlog = await outbox_backlog(session, utcnow())
        return Response(metrics.render(backlog), media_type=metrics.CONTENT_TYPE)

    return app
