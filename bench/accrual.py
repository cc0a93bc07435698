"""Accrual benchmark: purchases/s and latency of ``POST /api/v1/purchases`` through a real
``patron serve``, against pgbench TPC-B on the same PostgreSQL server in the same run.

    python bench/accrual.py --db postgresql [--seconds 20] [--rounds 3] [--concurrency 16]
    python bench/accrual.py --db sqlite
    python bench/accrual.py --db postgresql --batch 100 --concurrency 2

With ``--batch N`` every request is ``POST /api/v1/purchases/batch`` with N purchases (each for
a member drawn at random): the figures count purchases (requests x N), latency is per batch,
and a batch answered 500 (a deadlock, say) shows as non-2xx.

It starts its own PostgreSQL cluster (``.ci/postgres.sh``, default durability settings) or a
fresh SQLite file, applies the seed program, enrols members, starts the server, drives it from
a separate load process (``wrk`` with a Lua script giving every request a unique purchase id;
installed from Debian's packages if missing) at fixed concurrency for a fixed time, waits for
the dispatcher to catch up, then runs ``pgbench -M prepared`` TPC-B on the same server with the
same client count for as long. It does this ``--rounds`` times (3 by default) and prints each
round's ratio and their median: the shared machine's speed drifts by tens of per cent within
minutes, so a load and its reference run must be close in time, and one round alone says
little. Goal of the core issue: ratio >= 0.25 with p99 <= 100 ms (the worst round's p99);
SQLite >= 500 purchases/s (the rounds' mean). On PostgreSQL it also prints the CPU budget:
what a purchase may cost, server and PostgreSQL together, for the machine's cores to reach
0.25 of this pgbench, against what the run spent.

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
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from accrual_rounds import Round, summarise
from pgbench_ref import ensure_tool, pgbench_init, pgbench_tps, start_cluster, stop_postgres
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
    port: int, key: str, members: int, seconds: int, concurrency: int, batch: int, run: str
) -> dict[str, float]:
    """``wrk`` for ``seconds``; ``run`` makes this load's purchase ids its own (a round that
    repeated an earlier one's ids would be answered from the idempotency records)."""
    wrk = ensure_tool("wrk", "wrk")
    # The last Tuesday before the load (the API refuses purchases dated ahead of its clock).
    occurred_at = LAST_TUESDAY.strftime("%Y-%m-%dT%H:%M:%SZ")
    script = (
        LUA.replace("MEMBERS", str(members))
        .replace("BATCH", str(batch))
        .replace("KEY", f'"{key}"')
        .replace("RUN", run)
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


def wait_dispatched(url: str, since: float, timeout: float = 30) -> tuple[float, int]:
    """Until the dispatcher has caught up with the load (no event waiting) or ``timeout``:
    (the seconds since the load ended at ``since``, a ``time.monotonic()``; the events still
    waiting). The reference run must not share the machine with the load's leftovers."""
    while True:
        waiting, _ = asyncio.run(pending_events(url))
        elapsed = time.monotonic() - since
        if waiting == 0 or elapsed >= timeout:
            return elapsed, waiting
        time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--seconds", type=int, default=20, help="each round's load (and pgbench)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of load then pgbench; the ratio is their median (the machine drifts)",
    )
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
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="patron-bench-"))
    server_url = None
    if args.db == "postgresql":
        server_url = start_cluster(args.pg_port, args.pg_data, ("patron_bench", "pgbench"))
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
    rounds: list[Round] = []
    try:
        wait_ready(args.port, args.workers)
        if server_url is not None:
            pgbench_init(server_url)
        for number in range(1, args.rounds + 1):
            rounds.append(measure_round(args, server, url, server_url, key, number))
            print(rounds[-1].line(), flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    summarise(args, rounds, drained, workdir, server_url is not None)
    if server_url is not None:
        stop_postgres(args.pg_data)
    if any(one.load["non2xx"] > 0 for one in rounds):
        sys.exit(1)


def measure_round(
    args: argparse.Namespace,
    server: subprocess.Popen[bytes],
    url: str,
    server_url: str | None,
    key: str,
    number: int,
) -> Round:
    """The load for ``--seconds`` (server and PostgreSQL CPU measured over it), the wait until
    the dispatcher has caught up, then pgbench for as long on the same server."""
    cpu_before = group_cpu_seconds(server.pid)
    pg_before = cluster_cpu_seconds(postmaster_of(args.pg_data)) if server_url else 0.0
    load = run_load(
        args.port,
        key,
        args.members,
        args.seconds,
        args.concurrency,
        args.batch,
        f"{os.getpid()}{number}",
    )
    ended = time.monotonic()
    cpu_after = group_cpu_seconds(server.pid)
    pg_cpu = cluster_cpu_seconds(postmaster_of(args.pg_data)) - pg_before if server_url else 0.0
    waiting, written = asyncio.run(pending_events(url))
    caught_up, still = wait_dispatched(url, ended)
    # per process: with several workers, each keeps the connections it accepted, so an
    # uneven split of wrk's connections shows as one busy worker and one idle one
    by_process = sorted(
        (seconds - cpu_before.get(pid, 0.0) for pid, seconds in cpu_after.items()),
        reverse=True,
    )
    tps = pgbench_tps(server_url, args.seconds, args.concurrency) if server_url else None
    return Round(
        number=number,
        load=load,
        purchases_per_second=load["rps"] * max(args.batch, 1),
        server_cpu=sum(by_process),
        by_process=by_process,
        pg_cpu=pg_cpu,
        waiting_after=waiting,
        written=written,
        caught_up=caught_up,
        still_waiting=still,
        tps=tps,
    )


if __name__ == "__main__":
    main()
