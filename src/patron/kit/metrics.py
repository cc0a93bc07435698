"""Prometheus metrics (``prometheus_client``), shown at ``GET /metrics`` (admin key).

Counted in the process as they happen:

- ``patron_http_requests_total{method,route,status}`` and
  ``patron_http_request_duration_seconds{method,route}``: every request, by route template
  (``/api/v1/members/{member_id}``, never the raw path; ``none`` when no route matched);
- ``patron_group_commit_size``: purchases per group commit (:mod:`patron.kit.group_commit`);
- ``patron_ledger_entries_written_total``: ledger entries inserted (by transactions that
  committed or not: a rolled-back purchase's entry is counted too).

Read from the database at each scrape (:func:`render`): the outbox's backlog (pending events,
the oldest one's age, handler runs retrying and dead).

``patron serve --workers N`` gives every worker process a file-backed store in one private
directory (``PROMETHEUS_MULTIPROC_DIR``, set by the supervisor before it starts them): whichever
worker answers ``/metrics`` shows the sum over all N (and over workers that died and were
replaced), not its own share. A single process keeps its metrics in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "patron_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "patron_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
GROUP_COMMIT_SIZE = Histogram(
    "patron_group_commit_size",
    "Units of work (purchases) written by one group commit.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
LEDGER_ENTRIES = Counter(
    "patron_ledger_entries_written",
    "Ledger entries inserted (counted at the insert, before the transaction's end).",
)


@dataclass(frozen=True, slots=True)
class Backlog:
    """The outbox as a scrape sees it."""

    pending: int
    oldest_pending_seconds: float
    retrying: int
    dead: int


class _Fixed:
    """A collector of metric families computed before the scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def _backlog_families(backlog: Backlog) -> list[Metric]:
    return [
        GaugeMetricFamily(
            "patron_outbox_pending_events",
            "Domain events not yet dispatched to their handlers.",
            value=backlog.pending,
        ),
        GaugeMetricFamily(
            "patron_outbox_oldest_pending_seconds",
            "Age of the oldest event not yet dispatched (0 when none waits).",
            value=backlog.oldest_pending_seconds,
        ),
        GaugeMetricFamily(
            "patron_outbox_retrying_runs",
            "Handler runs waiting for a retry.",
            value=backlog.retrying,
        ),
        GaugeMetricFamily(
            "patron_outbox_dead_runs",
            "Handler runs that gave up (dead letters: patron events dead).",
            value=backlog.dead,
        ),
    ]


def render(backlog: Backlog | None) -> bytes:
    """The exposition text: this process's metrics (every worker's in multiprocess mode) and
    ``backlog``'s gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Fixed(REGISTRY.collect()))
    if backlog is not None:
        registry.register(_Fixed(_backlog_families(backlog)))
    return generate_latest(registry)
