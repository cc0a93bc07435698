"""CPU time of a PostgreSQL cluster's processes, read from ``/proc``: the benchmarks that run
their own cluster print what the database spent beside what Patron spent."""

from __future__ import annotations

import os
from pathlib import Path


def postmaster_of(data: Path | str) -> int:
    """The process id of the cluster whose data directory is ``data``."""
    return int((Path(data) / "postmaster.pid").read_text().split()[0])


def cluster_cpu_seconds(postmaster: int) -> float:
    """User + system CPU seconds so far of the postmaster and its children (backends, WAL
    writer, checkpointer, autovacuum)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == postmaster or int(stat.parent.name) == postmaster:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
