"""The crash soak's short run (``bench/soak.py``): 1,000 purchases with returns and
redemptions at concurrency 16, the server killed with SIGKILL twice, clients retrying with the
same keys; nothing answered is lost or doubled, every member's counters are exactly what the
answers imply, no tier is behind its points, and ``patron verify`` is clean. On PostgreSQL
when the suite runs there."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_soak_loses_and_doubles_nothing_across_kill_9() -> None:
    arguments = ["--purchases", "1000", "--members", "50", "--kills", "2", "--json"]
    server = os.environ.get("PATRON_TEST_DATABASE_URL")
    if server:
        arguments += ["--db", server]
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "soak.py"), *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["purchases_acknowledged"] == 1000, figures
    assert figures["returns_acknowledged"] > 0
    assert figures["redemptions_acknowledged"] > 0
    assert figures["restarts"] == 2
    assert figures["retried"] > 0  # the kills hit requests in flight
    assert figures["kpi_reads"] > 0
    assert (figures["lost"], figures["doubled"], figures["members_mismatched"]) == (0, 0, 0)
    assert figures["recorded_but_not_acknowledged"] == 0
    assert figures["server_errors"] == 0
    assert figures["verify_exit_code"] == 0
    assert figures["tier_moves"] > 0  # the run moved members between tiers
    assert (figures["tiers_behind_points"], figures["tier_moves_without_event"]) == (0, 0)
    assert run.returncode == 0, run.stderr
