"""The benchmarks' reference run and tools: ``pgbench`` TPC-B on the PostgreSQL server under
test (the figure a benchmark's own is divided by), and Debian's packages for what is missing
(``wrk``, ``pgbench``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path


def ensure_tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, capture_output=True)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not available")
    return found


def pgbench_env(server_url: str) -> dict[str, str]:
    port = re.search(r":(\d+)/", server_url)
    assert port
    return {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": port.group(1), "PGUSER": "postgres"}


def pgbench_init(server_url: str) -> None:
    pgbench = ensure_tool("pgbench", "postgresql-contrib")
    subprocess.run(
        [pgbench, "-i", "-q", "-s", "10", "pgbench"],
        check=True,
        env=pgbench_env(server_url),
        capture_output=True,
    )


def pgbench_tps(server_url: str, seconds: int, concurrency: int) -> float:
    pgbench = ensure_tool("pgbench", "postgresql-contrib")
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
        env=pgbench_env(server_url),
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
