"""``/healthz`` latency while a maximal purchase batch runs, against a real ``patron serve`` on
SQLite: does long work on the event loop hold other requests up? (issue 16)

    python bench/loop.py                        # 3 batches of 500 purchases x 40 lines
    python bench/loop.py --batches 5 --json

The store: the seed program (``examples/seed-program.yaml``) and ``--members`` members. A
maximal batch is ``POST /api/v1/purchases/batch`` with 500 purchases and 20,000 lines in all
(both caps; 40 lines each), well under the 8 MiB body limit. A sampler thread asks for
``/healthz`` every ``--every`` seconds over one kept-alive connection and records each answer's
latency:
- reference: for ``--reference`` seconds with nothing else running;
- under load: while ``--batches`` batches are sent one after another (each with new
  ``external_id`` values, so every one is recorded in full).
It prints p50, p99 and max of both samplings, their ratio, and the batches' durations, and
exits 1 when the p99 under load is ``--target`` seconds (0.2) or more, or a batch failed.
The machine's other work shows in the figures: run it more than once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from patron.access import service as access_service
from patron.access.models import Role
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.members import service as member_service
from patron.members.schemas import MemberCreate
from patron.migrations import upgrade_schema
from patron.programs import service as program_service
from patron.purchases.schemas import MOST_LINES_PER_BATCH

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "examples" / "seed-program.yaml"
PURCHASES_PER_BATCH = 500
START_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(url: str, members: int) -> str:
    await upgrade_schema(url)
    database = Database(url)
    async with database.write() as session:
        active = await program_service.apply_program(
            session, text=SEED.read_text(), created_by="bench-loop"
        )
        key = await access_service.create_key(
            session, name="bench-loop", role=Role.POS, now=utcnow()
        )
        for number in range(members):
            await member_service.enrol_member(
                session,
                program_id=active.program_id,
                data=MemberCreate(external_id=f"loop-m-{number}"),
                now=utcnow(),
            )
    await database.dispose()
    return key.key


def _batch(run: int, members: int) -> dict[str, Any]:
    """500 purchases of 40 lines (20,000 lines: both of the batch's caps)."""
    lines_each = MOST_LINES_PER_BATCH // PURCHASES_PER_BATCH
    when = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        {"sku": f"sku-{line}", "category": "coffee", "quantity": 1, "unit_price": "1.50"}
        for line in range(lines_each)
    ]
    total = f"{lines_each * 150 // 100}.{lines_each * 150 % 100:02d}"
    return {
        "purchases": [
            {
                "external_id": f"loop-{run}-{number}",
                "member_external_id": f"loop-m-{number % members}",
                "occurred_at": when,
                "currency": "RUB",
                "total": total,
                "lines": lines,
                "store": "bench",
            }
            for number in range(PURCHASES_PER_BATCH)
        ]
    }


class Sampler(threading.Thread):
    """``GET /healthz`` every ``every`` seconds until stopped; the latencies in seconds."""

    def __init__(self, base: str, every: float) -> None:
        super().__init__(daemon=True)
        self.base, self.every = base, every
        self.latencies: list[float] = []
        self.failures = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self.stopping.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.latencies.append(time.perf_counter() - started)
                else:
                    self.failures += 1
                self.stopping.wait(self.every)

    def stop(self) -> list[float]:
        self.stopping.set()
        self.join()
        return self.latencies


def _figures(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "samples": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "patron", "serve", "--db", url, "--port", str(port)],
            cwd=REPO,
            stdout=output,
            stderr=output,
            start_new_session=True,
            env={**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"},
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError(f"patron serve did not start (log: {log})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def measure(args: argparse.Namespace, url: str, log: Path) -> dict[str, Any]:
    key = asyncio.run(_prepare(url, args.members))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    bodies = [json.dumps(_batch(run, args.members)).encode() for run in range(args.batches)]
    process = _serve(url, port, log)
    try:
        sampler = Sampler(base, args.every)
        sampler.start()
        time.sleep(args.reference)
        reference = sampler.stop()
        sampler = Sampler(base, args.every)
        seconds: list[float] = []
        failed = 0
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=base, timeout=600) as client:
            sampler.start()
            for body in bodies:
                started = time.perf_counter()
                answer = client.post("/api/v1/purchases/batch", content=body, headers=headers)
                seconds.append(time.perf_counter() - started)
                results = answer.json().get("results", []) if answer.status_code == 200 else []
                failed += sum(1 for result in results if result["status"] != 201)
                failed += 0 if answer.status_code == 200 else PURCHASES_PER_BATCH
        loaded = sampler.stop()
    finally:
        _stop(process)
    under, alone = _figures(loaded), _figures(reference)
    return {
        "database": "sqlite",
        "batch": f"{PURCHASES_PER_BATCH} purchases x {MOST_LINES_PER_BATCH // PURCHASES_PER_BATCH}"
        f" lines, {round(len(bodies[0]) / 2**20, 2)} MiB",
        "batches": args.batches,
        "batch_seconds": [round(value, 2) for value in seconds],
        "purchases_failed": failed,
        "healthz_failures": sampler.failures,
        "reference": alone,
        "under_batch": under,
        "p99_ratio": round(under["p99_ms"] / alone["p99_ms"], 1) if alone["p99_ms"] else None,
        "max_ratio": round(under["max_ms"] / alone["max_ms"], 1) if alone["max_ms"] else None,
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--every", type=float, default=0.01, help="seconds between samples")
    parser.add_argument("--reference", type=float, default=5.0, help="seconds of reference")
    parser.add_argument("--target", type=float, default=0.2, help="p99 under load, seconds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="patron-loop-") as directory:
        figures = measure(args, str(Path(directory) / "loop.db"), Path(directory) / "serve.log")
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:20} {value}")
    healthy = (
        figures["under_batch"]["p99_ms"] < args.target * 1000
        and figures["purchases_failed"] == 0
        and figures["healthz_failures"] == 0
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
