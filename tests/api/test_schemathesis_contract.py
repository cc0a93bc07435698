"""The API keeps its own contract: ``schemathesis run`` with every check and the stateful phase,
against a real ``patron serve`` over a populated demo store, finds nothing.

Every check means schemathesis's own, with ``positive_data_acceptance`` and
``negative_data_rejection`` replaced by ``positive_data_acceptance_or_rule`` and
``negative_data_rejection_or_too_large`` (``tests/api/schemathesis_hooks.py``): a request the
schema calls valid may be refused only with a 422 code the operation declares as a rule no
schema can state, and a 413 counts (as a refusal) only for a body above the byte limit the
operation states (``x-max-body-bytes``). The admin key reaches every operation through all
phases; the pos and staff keys prove that their 403s are declared too. Bounded for CI by
``PATRON_SCHEMATHESIS_EXAMPLES`` (examples per operation) and ``PATRON_SCHEMATHESIS_SECONDS``
(time per run); the long run of ``docs/benchmarks.md`` raises both.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from patron.feedback.analysis import AnalysisMode
from patron.feedback.analysis.model import CACHE_DIR_ENV, cache_models
from tests.conftest import _create_database, _drop_database

# CI bound: about a minute per database (docs/benchmarks.md has the long run)
EXAMPLES = os.environ.get("PATRON_SCHEMATHESIS_EXAMPLES", "3")
SECONDS = os.environ.get("PATRON_SCHEMATHESIS_SECONDS", "25")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _patron(*arguments: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "patron", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return done.stdout


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("patron serve did not start")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Callable[[str], str]]]:
    """A demo store (60 members, a year of purchases, returns, coupons, tickets, reviews)
    served over HTTP, with a key per role."""
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    name = f"patron_contract_{uuid.uuid4().hex[:8]}"
    url = (
        asyncio.run(_create_database(server, name))
        if server
        else str(tmp_path_factory.mktemp("contract") / "demo.db")
    )
    # The feedback text models take 20-100 s to fit on a busy machine; fitted here once and
    # cached, the demo and the server load them at once.
    models = tmp_path_factory.mktemp("feedback-models")
    cache_models(models, [AnalysisMode.FAST, AnalysisMode.ACCURATE])
    env = {**os.environ, CACHE_DIR_ENV: str(models)}
    _patron("demo", "--members", "60", "--years", "1", "--no-serve", "--db", url, env=env)

    def new_key(role: str) -> str:
        # a key per run: the admin run revokes whatever keys ``GET /keys`` lists (its own
        # excepted: 409 ``key_in_use``), so a key made before it would be gone after it
        created = _patron("keys", "create", "--role", role, "--name", f"fuzz-{role}", "--db", url)
        return created.strip().splitlines()[-1]

    port = _free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "patron", "serve", "--db", url, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, new_key
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        if server:
            asyncio.run(_drop_database(server, name))


def schemathesis_command(base: str, key: str, *, phases: str, examples: str) -> list[str]:
    """The run of ``docs/benchmarks.md``; with ``SCHEMATHESIS_HOOKS`` set as in :func:`_run`."""
    return [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,negative_data_rejection",
        "--phases",
        phases,
        "--header",
        f"Authorization: Bearer {key}",
        "--max-examples",
        examples,
        "--max-time",
        SECONDS,
        "--seed",
        "1",
        # one worker: with two threads, hypothesis describing its filters parses source with
        # ``ast`` concurrently, which CPython 3.11 can fail ("AST constructor recursion depth
        # mismatch", a runtime error of the run, not a finding about the API)
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--max-response-time",
        "60",
        "--no-color",
    ]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks"}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def test_every_check_passes_for_the_admin_key(
    live_server: tuple[str, Callable[[str], str]],
) -> None:
    base, new_key = live_server
    command = schemathesis_command(
        base, new_key("admin"), phases="examples,coverage,fuzzing,stateful", examples=EXAMPLES
    )
    done = _run(command)
    assert done.returncode == 0, done.stdout[-20_000:] + done.stderr[-5_000:]
    assert "Tested: 0" not in done.stdout


@pytest.mark.parametrize("role", ["pos", "staff"])
def test_every_check_passes_for_a_narrower_role(
    role: str, live_server: tuple[str, Callable[[str], str]]
) -> None:
    """The operations the role may not call answer a declared 403; the others still keep the
    contract."""
    base, new_key = live_server
    command = schemathesis_command(base, new_key(role), phases="examples,coverage", examples="1")
    done = _run(command)
    assert done.returncode == 0, done.stdout[-20_000:] + done.stderr[-5_000:]
