"""``GET /metrics`` of a real ``patron serve --workers 2`` (issue 16, part 4): an admin key
reads Prometheus text that ``prometheus_client``'s parser reads back, with the requests by
route template, the group commits, the ledger writes and the outbox backlog summed over both
worker processes, whichever answers; and the server's stderr is JSON lines."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from patron.cli.workers import reuse_port_available
from tests.api.test_key_revocation import _PATRON, REPO, _prepare, database_url  # noqa: F401
from tests.notifications.conftest import free_port

PURCHASES = 12


def _call(
    port: int, method: str, path: str, key: str | None, body: object = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # a new one each
    try:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.slow
@pytest.mark.skipif(not reuse_port_available(), reason="needs SO_REUSEPORT")
def test_metrics_of_a_real_server_with_two_workers(database_url: str, tmp_path: Path) -> None:  # noqa: F811
    admin, till, _till_id = asyncio.run(_prepare(database_url))
    port = free_port()
    errors = (tmp_path / "serve.err").open("wb")
    server = subprocess.Popen(
        # --no-worker: the events stay in the outbox, a backlog to see
        [
            *_PATRON,
            "serve",
            "--db",
            database_url,
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-worker",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=errors,
        start_new_session=True,
        env={**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"},
    )
    try:
        deadline = time.monotonic() + 90
        workers: set[int] = set()
        while len(workers) < 2:
            assert time.monotonic() < deadline, "both workers did not answer"
            try:
                status, body = _call(port, "GET", "/healthz", None)
                workers.add(int(json.loads(body)["worker"]))
            except OSError:
                time.sleep(0.2)
        status, body = _call(port, "POST", "/api/v1/members", till, {"external_id": "m-1"})
        assert status == 201, body
        assert json.loads(body)["external_id"] == "m-1"
        at = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        for n in range(PURCHASES):
            purchase = {
                "external_id": f"r-{n}",
                "member_external_id": "m-1",
                "occurred_at": at,
                "currency": "RUB",
                "total": "100.00",
                "lines": [{"sku": "tea", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
            }
            status, body = _call(port, "POST", "/api/v1/purchases", till, purchase)
            assert status == 201, body
        assert _call(port, "GET", "/metrics", None)[0] == 401
        assert _call(port, "GET", "/metrics", till)[0] == 403

        for _scrape in range(4):  # new connections: both workers answer some of them
            status, body = _call(port, "GET", "/metrics", admin)
            assert status == 200
            samples = _samples(body.decode())
            purchases = _value(
                samples,
                "patron_http_requests_total",
                method="POST",
                route="/api/v1/purchases",
                status="201",
            )
            assert purchases == PURCHASES
            assert _value(samples, "patron_group_commit_size_sum") == PURCHASES
            assert 1 <= _value(samples, "patron_group_commit_size_count") <= PURCHASES
            assert _value(samples, "patron_ledger_entries_written_total") >= PURCHASES
            timed = _value(
                samples,
                "patron_http_request_duration_seconds_count",
                method="POST",
                route="/api/v1/purchases",
            )
            assert timed == PURCHASES
            assert _value(samples, "patron_outbox_pending_events") >= PURCHASES
            assert _value(samples, "patron_outbox_oldest_pending_seconds") > 0
            assert ("patron_outbox_dead_runs", frozenset()) in samples
            refused = _value(
                samples, "patron_http_requests_total", method="GET", route="/metrics", status="401"
            )
            assert refused == 1
    finally:
        server.terminate()
        server.wait(timeout=60)
        errors.close()
    lines = [
        json.loads(line)
        for line in (tmp_path / "serve.err").read_text().splitlines()
        if line.startswith("{")
    ]
    requests = [line for line in lines if line["logger"] == "patron.request"]
    assert len(requests) >= PURCHASES + 6
    assert {line["route"] for line in requests} >= {"/api/v1/purchases", "/metrics", "/healthz"}
