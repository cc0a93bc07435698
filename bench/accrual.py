"""Accrual benchmark: purchases/s and latency of ``POST /api/v1/purchases`` through a real
``patron serve``, against pgbench TPC-B on the same PostgreSQL server in the same run.

    python bench/accrual.py --db postgresql [--seconds 20] [--concurrency 16] [--workers 2]
    python bench/accrual.py --db sqlite
    python bench/accrual.py --db postgresql --batch 100 --concurrency 2

With ``--batch N`` every request is ``POST /api/v1/purchases/batch`` with N purchases (each for
a member drawn at random): the figures count purchases (requests x N), latency is per batch,
and a batch answered 500 (a deadlock, say) shows as non-2xx.

It starts its own PostgreSQL cluster (``.ci/postgres.sh``, default durability settings) or a
fresh SQLite file, applies the seed program, enrols members, starts the server, drives it from
a separate load process (``wrk`` with a Lua script giving every request a unique purchase id;
installed from Debian's packages if missing) at fixed concurrency for a fixed time, then runs
``pgbench -M prepared`` TPC-B on the same server with the same client count and prints the
ratio. Goal of the core issue: ratio >= 0.25 with p99 <= 100 ms; SQLite >= 500 purchases/s.

The purchases are dated the last Tuesday 10:00 UTC before the run (a weekday: the seed
program's weekend boost, with its per-member limit, would make Saturday's figure differ from
Tuesday's). The members' enrolment events (a welcome message each) are dispatched before the
load (``patron worker --once``), so the load meets the steady state of a shop whose members
joined earlier; what the load's own purchases cause (their events, tier changes and their
messages) is dispatched during it by the server's in-process worker, as in production. After
the load the script prints the events still waiting: whether the dispatcher kept up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from postgres_cpu import cluster_cpu_seconds, postmaster_of

REPO = Path(__file__).resolve().parents[1]
PG_DATA = Path("/tmp/patron-bench-accrual-pg")  # the postgres user must reach it
SEED = REPO / "examples" / "seed-program.yaml"
_TODAY = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
LAST_TUESDAY = _TODAY - timedelta(days=(_TODAY.weekday() - 1) % 7 or 7)

LUA = r"""
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  thread_id = tid
  math.randomseed(thread_id * 7919)
end
function purchase()
  counter = counter + 1
  local member = math.random(1, MEMBERS)
  return string.format(
    '{"external_id":"b-%d-%d-%d","member_external_id":"m-%d",' ..
    '"occurred_at":"OCCURRED_AT","currency":"RUB","total":"1700.00",' ..
    '"lines":[{"sku":"cof-1","category":"coffee","quantity":1,' ..
    '"unit_price":"500.00"},{"sku":"tea-1","category":"tea","quantity":1,"unit_price":"700.00"},' ..
    '{"sku":"cake","category":"pastry","quantity":2,"unit_price":"250.00"}],"channel":"store","store":"msk-1"}',
    RUN, thread_id, counter, member)
end
function request()
  local path, body = "/api/v1/purchases", nil
  if BATCH > 0 then
    local items = {}
    for n = 1, BATCH do items[n] = purchase() end
    path, body = "/api/v1/purchases/batch", '{"purchases":[' .. table.concat(items, ",") .. ']}'
  else
    body = purchase()
  end
  return wrk.format("POST", path, {["Content-Type"]="application/json",
    ["Authorization"]="Bearer " .. KEY}, body)
end
"""


def ensure_tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, capture_output=True)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not available")
    return found


async def prepare(url: str, members: int) -> str:
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
    async with database.write() as session:
        active = await program_service.apply_program(
            session, text=SEED.read_text(), created_by="bench"
        )
        key = await access_service.create_key(
            session, name="bench-pos", role=Role.POS, now=utcnow()
        )
    for start in range(0, members, 500):
        async with database.write() as session:
            for number in range(start, min(start + 500, members)):
                await member_service.enrol_member(
                    session,
                    program_id=active.program_id,
                    data=MemberCreate(external_id=f"m-{number + 1}"),
                    now=utcnow(),
                )
    await database.dispose()
    return key.key


def drain_outbox(url: str) -> float:
    """Dispatch every due event (the enrolments' welcome messages) with ``patron worker
    --once``; the seconds it took."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "patron", "worker", "--once", "--db", url],
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


async def pending_events(url: str) -> tuple[int, int]:
    """(events not yet dispatched, every event) in the outbox."""
    from sqlalchemy import func, select

    from patron.kit.db import Database
    from patron.kit.outbox import OutboxEvent

    database = Database(url)
    async with database.read() as session:
        waiting = await session.scalar(
            select(func.count()).where(OutboxEvent.dispatched_at.is_(None))
        )
        every = await session.scalar(select(func.count()).select_from(OutboxEvent))
    await database.dispose()
    return int(waiting or 0), int(every or 0)


def wait_ready(port: int, workers: int, timeout: float = 60) -> None:
    """Until every worker has answered ``/healthz`` (each on a new connection: the kernel
    spreads them over the workers' sockets), so that the load meets a started server."""
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            if answer.status_code == 200:
                seen.add(answer.json()["worker"])
                if len(seen) >= workers:
                    return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def parse_wrk(output: str) -> dict[str, float]:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*timeout (\d+)", output)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": latency("50"),
        "p99": latency("99"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "timeouts": float(errors.group(1)) if errors else 0.0,
    }


def group_cpu_seconds(group: int) -> dict[int, float]:
    """User + system CPU of each live process of process group ``group`` (the server and its
    workers), by process id, from ``/proc``."""
    seconds: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            ticks = int(fields[11]) + int(fields[12])  # utime, stime
            seconds[int(stat.parent.name)] = ticks / os.sysconf("SC_CLK_TCK")
    return seconds


def run_load(
    port: int, key: str, members: int, seconds: int, concurrency: int, batch: int
) -> dict[str, float]:
    wrk = ensure_tool("wrk", "wrk")
    # The last Tuesday before the load (the API refuses purchases dated ahead of its clock).
    occurred_at = LAST_TUESDAY.strftime("%Y-%m-%dT%H:%M:%SZ")
    script = (
        LUA.replace("MEMBERS", str(members))
        .replace("BATCH", str(batch))
        .replace("KEY", f'"{key}"')
        .replace("RUN", str(os.getpid()))
        .replace("OCCURRED_AT", occurred_at)
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    command = [
        wrk,
        f"-t{min(2, concurrency)}",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "30s",  # wrk's default (2 s) drops slower answers (a queued batch) from the latency
        "--latency",
        "-s",
        handle.name,
        f"http://127.0.0.1:{port}",
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return parse_wrk(output)


def pgbench_tps(server_url: str, seconds: int, concurrency: int) -> float:
    pgbench = ensure_tool("pgbench", "postgresql-contrib")
    port = re.search(r":(\d+)/", server_url)
    assert port
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": port.group(1), "PGUSER": "postgres"}
    subprocess.run(
        [pgbench, "-i", "-q", "-s", "10", "pgbench"], check=True, env=env, capture_output=True
    )
    output = subprocess.run(
        [
            pgbench,
            "-M",
            "prepared",
            "-c",
            str(concurrency),
            "-j",
            "2",
            "-T",
            str(seconds),
            "pgbench",
        ],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+)", output)
    return float(match.group(1)) if match else float("nan")


def stop_postgres(data: Path) -> None:
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    command = f"{binaries[-1]} -D {data} stop -m fast"
    as_postgres = (
        ["su", "postgres", "-s", "/bin/bash", "-c", command]
        if os.getuid() == 0
        else ["bash", "-c", command]
    )
    subprocess.run(as_postgres, check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument(
        "--batch", type=int, default=0, help="purchases per request to /purchases/batch (0: single)"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pg-port", type=int, default=54340, help="the benchmark cluster's port")
    parser.add_argument(
        "--pg-data", type=Path, default=PG_DATA, help="the benchmark cluster's data directory"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="patron-bench-"))
    server_url = None
    if args.db == "postgresql":
        out = subprocess.run(
            [str(REPO / ".ci" / "postgres.sh"), str(args.pg_port), str(args.pg_data)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        server_url = out.strip().splitlines()[-1]
        for name in ("patron_bench", "pgbench"):
            subprocess.run(["psql", server_url, "-qc", f"CREATE DATABASE {name}"], check=True)
        url = server_url.rsplit("/", 1)[0] + "/patron_bench"
    else:
        url = str(workdir / "bench.db")
    key = asyncio.run(prepare(url, args.members))
    drained = drain_outbox(url)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "patron",
            "serve",
            "--db",
            url,
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        start_new_session=True,
        # no text-model warm-up in the background: it would compete for the CPU measured here
        env={**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"},
        # a JSON line per request (the default log level, measured with the rest)
        stderr=(workdir / "serve.log").open("wb"),
    )
    try:
        wait_ready(args.port, args.workers)
        cpu_before = group_cpu_seconds(server.pid)
        pg_before = cluster_cpu_seconds(postmaster_of(args.pg_data)) if server_url else 0.0
        load = run_load(args.port, key, args.members, args.seconds, args.concurrency, args.batch)
        cpu_after = group_cpu_seconds(server.pid)
        pg_cpu = cluster_cpu_seconds(postmaster_of(args.pg_data)) - pg_before if server_url else 0.0
        waiting, written = asyncio.run(pending_events(url))
        # per process: with several workers, each keeps the connections it accepted, so an
        # uneven split of wrk's connections shows as one busy worker and one idle one
        by_process = sorted(
            (seconds - cpu_before.get(pid, 0.0) for pid, seconds in cpu_after.items()),
            reverse=True,
        )
        server_cpu = sum(by_process)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    per_request = max(args.batch, 1)
    print(
        f"database: {args.db}; workers {args.workers}; concurrency {args.concurrency}; "
        f"{args.seconds} s; " + (f"batches of {args.batch}" if args.batch else "single purchases")
    )
    purchases_per_second = load["rps"] * per_request
    print(
        f"purchases/s: {purchases_per_second:.0f}  "
        + (f"batches/s: {load['rps']:.1f}  per batch " if args.batch else "")
        + f"p50: {load['p50']:.1f} ms  p99: {load['p99']:.1f} ms  non-2xx: {load['non2xx']:.0f}  "
        f"timeouts: {load['timeouts']:.0f}"
    )
    if load["non2xx"] > 0:
        # Refused requests are cheap: counting them would make a broken run look fast.
        print(
            f"INVALID RUN: {load['non2xx']:.0f} requests were not answered 2xx "
            f"(see {workdir / 'serve.log'})"
        )
    requests = purchases_per_second * args.seconds
    print(
        f"server CPU: {server_cpu:.1f} s in {args.seconds} s "
        f"({1000 * server_cpu / requests:.2f} ms per purchase); by process "
        f"{', '.join(f'{seconds:.1f}' for seconds in by_process if seconds >= 0.05)} s; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if server_url is not None:
        print(f"PostgreSQL CPU: {pg_cpu:.1f} s ({1000 * pg_cpu / requests:.2f} ms per purchase)")
    print(
        f"outbox: enrolments' events dispatched before the load in {drained:.1f} s; after it "
        f"{waiting} of {written} events still waiting for the dispatcher"
    )
    if server_url is not None:
        tps = pgbench_tps(server_url, args.seconds, args.concurrency)
        print(f"pgbench TPC-B (same server, -c {args.concurrency} -j 2 -M prepared): {tps:.0f} tps")
        print(
            f"ratio purchases/s to pgbench tps: {purchases_per_second / tps:.3f} "
            "(goal >= 0.25, p99 <= 100 ms)"
        )
        stop_postgres(args.pg_data)
    else:
        print(
            "goal on SQLite: >= 500 purchases/s -> "
            + ("met" if purchases_per_second >= 500 else "NOT met")
        )
    if load["non2xx"] > 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
