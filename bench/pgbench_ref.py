"""The benchmarks' reference run and tools: a cluster of their own (``.ci/postgres.sh``),
``pgbench`` TPC-B on the PostgreSQL server under test (the figure a benchmark's own is divided
by), and Debian's packages for what is missing (``wrk``, ``pgbench``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_cluster(port: int, data: Path, databases: tuple[str, ...]) -> str:
    """Start (or reuse) the cluster at ``data`` on ``port`` with ``.ci/postgres.sh``, create
    ``databases`` in it, and return the server's URL (its ``postgres`` database)."""
    out = subprocess.run(
        [str(REPO / ".ci" / "postgres.sh"), str(port), str(data)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    server_url = out.strip().splitlines()[-1]
    for name in databases:
        subprocess.run(["psql", server_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    return server_url


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
