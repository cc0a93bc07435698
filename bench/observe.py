"""What the request log and metrics cost per request (issue 16, part 4).

    python bench/observe.py [--requests 20000] [--rounds 5]

Calls the ASGI app directly (no sockets, no HTTP client, so the layer's cost is not hidden in
their noise) on a fresh SQLite file, in three set-ups, alternating rounds and keeping each
one's best round:

- ``off``: the app without :class:`~patron.api.observe.RequestObserver`;
- ``metrics``: with it, the log at ``warning`` (no line for a request that succeeded);
- ``log``: with it, ``PATRON_LOG_LEVEL=info``, a JSON line per request written to a file.

Two requests: ``GET /healthz`` (the cheapest answer: the worst ratio) and ``GET
/api/v1/members/{id}`` with a cached staff key (a read of the database). Prints µs per request
and the ratio to ``off``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

os.environ.setdefault("PATRON_FEEDBACK_WARM_UP", "0")


async def _prepare(url: str) -> tuple[str, int]:
    from patron.access import service as access_service
    from patron.access.models import Role
    from patron.kit.db import Database
    from patron.kit.time import utcnow
    from patron.members import service as member_service
    from patron.members.schemas import MemberCreate
    from patron.migrations import upgrade_schema
    from patron.programs import service as program_service

    await upgrade_schema(url)
    database = Database(url)
    seed = (REPO / "examples" / "seed-program.yaml").read_text()
    async with database.write() as session:
        applied = await program_service.apply_program(session, text=seed, created_by="bench")
        key = await access_service.create_key(session, name="b", role=Role.STAFF, now=utcnow())
        member = await member_service.enrol_member(
            session,
            program_id=applied.program_id,
            data=MemberCreate(external_id="bench-1"),
            now=utcnow(),
        )
    await database.dispose()
    return key.key, member.id


def _app(url: str, observed: bool) -> Any:
    from patron.api.app import create_app
    from patron.api.observe import RequestObserver

    app = create_app(url)
    if not observed:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestObserver]
    return app


async def _run(app: Any, path: str, key: str, count: int) -> float:
    """Seconds for ``count`` requests of ``GET path``, one after the other."""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())]
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(count):
        await app(dict(scope_base), receive, send)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed


async def _layer_alone(count: int, rounds: int) -> dict[str, float]:
    """µs per request of :class:`RequestObserver` around an app that answers at once (with
    its routes to look the template up in): the layer's own cost, off the database's noise."""
    from fastapi import FastAPI
    from starlette.routing import Route

    from patron.api.observe import RequestObserver
    from patron.kit.logs import configure_logging

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        scope["route"] = route
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = FastAPI()
    route = Route("/healthz", answer)
    app.router.routes.append(route)

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = app
        await answer(scope, receive, send)

    observed = RequestObserver(bare)
    sink = open(os.devnull, "w")  # noqa: SIM115 (closed below)
    best: dict[str, float] = {}
    for _round in range(rounds):
        for name, target, level in (
            ("off", bare, "warning"),
            ("metrics", observed, "warning"),
            ("log", observed, "info"),
        ):
            configure_logging({"PATRON_LOG_LEVEL": level}, stream=sink)
            seconds = await _run(target, "/healthz", "k", count)
            best[name] = min(best.get(name, seconds), seconds)
    sink.close()
    return {name: seconds / count * 1e6 for name, seconds in best.items()}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    from patron.kit.logs import configure_logging

    folder = Path(tempfile.mkdtemp(prefix="patron-bench-observe-"))
    url = str(folder / "bench.db")
    key, member_id = await _prepare(url)
    log_file = (folder / "requests.log").open("w")
    apps = {"off": _app(url, False), "metrics": _app(url, True), "log": _app(url, True)}
    lifespans = []
    for app in apps.values():
        context = app.router.lifespan_context(app)
        await context.__aenter__()
        lifespans.append(context)
    paths = ["/healthz", f"/api/v1/members/{member_id}"]
    best: dict[tuple[str, str], float] = {}
    for _round in range(options.rounds):
        for name, app in apps.items():
            level = "info" if name == "log" else "warning"
            configure_logging({"PATRON_LOG_LEVEL": level}, stream=log_file)
            for path in paths:
                await _run(app, path, key, 200)  # warm
                seconds = await _run(app, path, key, options.requests)
                best[(name, path)] = min(best.get((name, path), seconds), seconds)
    for context in lifespans:
        await context.__aexit__(None, None, None)
    log_file.close()
    lines = sum(1 for _ in (folder / "requests.log").open())
    logging.shutdown()
    print(f"{options.requests} requests x {options.rounds} rounds, best round; log lines: {lines}")
    alone = await _layer_alone(options.requests, options.rounds)
    for name, per in alone.items():
        print(f"{'the layer alone (no-op app)':32} {name:8} {per:8.1f} µs/request")
    for path in paths:
        shown = "/api/v1/members/{member_id}" if path != "/healthz" else path
        off = best[("off", path)] / options.requests * 1e6
        for name in apps:
            per = best[(name, path)] / options.requests * 1e6
            print(f"{shown:32} {name:8} {per:8.1f} µs/request  ratio {per / off:5.3f}")


if __name__ == "__main__":
    asyncio.run(main())
