"""The floor under the accrual goal: what any Python HTTP write costs on this machine, against
pgbench on the same PostgreSQL.

    python bench/floor.py [--seconds 15] [--concurrency 16] [--workers 2]

Issue 11 asks ``POST /api/v1/purchases`` for 0.25 of pgbench's TPC-B rate. This script runs
the least a write API can do (``bench/floor_app.py``: uvicorn with uvloop and httptools, a
bare ASGI app, a JSON body read, one row inserted in a transaction through asyncpg, a JSON
answer) under the same ``wrk`` load, then pgbench with the same client count, and prints the
floor's rate, its CPU a request (server and PostgreSQL) and its ratio to pgbench. A purchase
(rules, ledger, lots, outbox, idempotency, key check, logs and metrics) costs a multiple of
the floor; the goal leaves it ``floor ratio / 0.25`` times the floor's CPU, which the script
prints as the budget. It starts its own cluster (``.ci/postgres.sh``) and stops it at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pgbench_ref import ensure_tool, pgbench_init, pgbench_tps, start_cluster, stop_postgres
from postgres_cpu import cluster_cpu_seconds, postmaster_of

GOAL = 0.25
LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function request()
  counter = counter + 1
  local body = string.format('{"external_id":"f-%d-%d","total":"1700.00"}', tid, counter)
  return wrk.format("POST", "/", {["Content-Type"]="application/json"}, body)
end
"""


def group_cpu(group: int) -> float:
    """User + system CPU seconds of the live processes of process group ``group``."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/", json={"external_id": "w", "total": "1.00"})
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the floor server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--pg-port", type=int, default=54341)
    parser.add_argument("--pg-data", type=Path, default=Path("/tmp/patron-bench-floor-pg"))
    args = parser.parse_args()
    server_url = start_cluster(args.pg_port, args.pg_data, ("floor", "pgbench"))
    dsn = server_url.rsplit("/", 1)[0] + "/floor"
    table = "CREATE TABLE floor_rows (id bigserial PRIMARY KEY, external_id text, total bigint)"
    subprocess.run(["psql", dsn, "-qc", table], check=True)
    subprocess.run(["psql", dsn, "-qc", "CREATE INDEX ON floor_rows (external_id)"], check=True)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "floor_app:app", "--port", str(args.port)),
            *("--workers", str(args.workers), "--loop", "uvloop", "--http", "httptools"),
            *("--log-level", "warning", "--no-access-log"),
        ],
        cwd=Path(__file__).parent,
        env={**os.environ, "FLOOR_DSN": dsn},
        start_new_session=True,
    )
    try:
        wait_ready(args.port)
        postmaster = postmaster_of(args.pg_data)
        server_before, pg_before = group_cpu(server.pid), cluster_cpu_seconds(postmaster)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(LUA)
        wrk = ensure_tool("wrk", "wrk")
        load = [wrk, "-t2", f"-c{args.concurrency}", f"-d{args.seconds}s", "-s", handle.name]
        output = subprocess.run(
            [*load, f"http://127.0.0.1:{args.port}/"], check=True, capture_output=True, text=True
        ).stdout
        server_cpu = group_cpu(server.pid) - server_before
        pg_cpu = cluster_cpu_seconds(postmaster) - pg_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    rate = float(output.split("Requests/sec:")[1].split()[0])
    if "Non-2xx" in output:
        raise SystemExit("the floor answered errors:\n" + output)
    pgbench_init(server_url)
    tps = pgbench_tps(server_url, args.seconds, args.concurrency)
    stop_postgres(args.pg_data)
    requests = rate * args.seconds
    per_server, per_pg = server_cpu / requests * 1000, pg_cpu / requests * 1000
    ratio = rate / tps
    print(f"floor: {rate:.0f} requests/s; {per_server:.3f} ms server, {per_pg:.3f} ms PostgreSQL")
    print(f"pgbench TPC-B (same server, -c {args.concurrency}): {tps:.0f} tps")
    print(f"ratio floor to pgbench: {ratio:.3f}")
    print(
        f"at the accrual goal ({GOAL} of pgbench) a purchase may cost {ratio / GOAL:.1f} times "
        f"the floor: {(per_server + per_pg) * ratio / GOAL:.2f} ms of CPU in all"
    )


if __name__ == "__main__":
    main()
