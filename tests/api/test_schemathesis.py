"""No input yields a 500: schemathesis generates requests from the OpenAPI document and sends
them to a real ``patron serve`` (over HTTP) on the test database, with an admin key so that
every operation is reached. Examples per operation are bounded to keep CI fast."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import BaseSchema
from schemathesis.checks import not_a_server_error

from patron.access import service as access_service
from patron.access.models import Role
from patron.api.app import create_app
from patron.feedback.analysis import AnalysisMode
from patron.feedback.analysis.model import CACHE_DIR_ENV, cache_models
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.migrations import upgrade_schema
from patron.programs import service as program_service
from tests.conftest import SEED_PROGRAM, _create_database, _drop_database

EXAMPLES = int(os.environ.get("PATRON_SCHEMATHESIS_EXAMPLES", "30"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(url: str) -> str:
    await upgrade_schema(url)
    database = Database(url)
    async with database.write() as session:
        active = await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="test"
        )
        key = await access_service.create_key(session, name="fuzz", role=Role.ADMIN, now=utcnow())
        for number in range(3):
            await member_service.enrol_member(
                session,
                program_id=active.program_id,
                data=MemberCreate(external_id=f"m-{number}"),
                now=utcnow(),
            )
    await database.dispose()
    return key.key


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    name = f"patron_fuzz_{uuid.uuid4().hex[:8]}"
    url = (
        asyncio.run(_create_database(server, name))
        if server
        else str(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    )
    key = asyncio.run(_prepare(url))
    # The feedback text models take 20-100 s to fit on a busy machine; fitted here (the
    # analysis tests of this process reuse them) and cached, the server loads them at once.
    models = tmp_path_factory.mktemp("feedback-models")
    cache_models(models, [AnalysisMode.FAST, AnalysisMode.ACCURATE])
    port = _free_port()
    # its log (a JSON line per request) goes to a file: a pipe nobody reads fills up, and the
    # server then blocks on its next line
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "patron", "serve", "--db", url, "--port", str(port)],
            env={**os.environ, CACHE_DIR_ENV: str(models)},
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"patron serve did not start: {log.read_text()[-5000:]}")
            time.sleep(0.2)
        yield base, key
    finally:
        process.terminate()
        process.wait(timeout=30)
        if server:
            asyncio.run(_drop_database(server, name))


@pytest.fixture(scope="module")
def api_schema(live_server: tuple[str, str]) -> BaseSchema:
    base, _ = live_server
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


def _operations() -> list[tuple[str, str]]:
    document = create_app().openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_input_yields_a_server_error(
    method: str, path: str, api_schema: BaseSchema, live_server: tuple[str, str]
) -> None:
    _, key = live_server
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {key}"}, checks=[not_a_server_error]
        )

    check()
