"""``bench/accrual.py``'s rounds: what one round measured (the load, then the reference run
right after it) and the rounds together (mean rates, the worst p99, the median ratio)."""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Round:
    """One round: the load, then (PostgreSQL) the reference run right after it."""

    number: int
    load: dict[str, float]
    purchases_per_second: float
    server_cpu: float
    by_process: list[float]
    pg_cpu: float
    waiting_after: int
    written: int
    caught_up: float
    still_waiting: int
    tps: float | None

    @property
    def ratio(self) -> float | None:
        return None if self.tps is None else self.purchases_per_second / self.tps

    def line(self) -> str:
        reference = (
            f"; pgbench {self.tps:.0f} tps; ratio {self.ratio:.3f}"
            if self.tps is not None and self.ratio is not None
            else ""
        )
        return (
            f"round {self.number}: {self.purchases_per_second:.0f} purchases/s, "
            f"p99 {self.load['p99']:.1f} ms; dispatcher caught up {self.caught_up:.1f} s after "
            f"the load ({self.waiting_after} events waiting at its end, {self.still_waiting} "
            f"still){reference}"
        )


def summarise(
    args: argparse.Namespace, rounds: list[Round], drained: float, workdir: Path, pg: bool
) -> None:
    """The rounds together: mean rates, the worst p99, the CPU a purchase, the outbox, and on
    PostgreSQL the reference."""
    count = len(rounds)
    purchases_per_second = statistics.fmean(one.purchases_per_second for one in rounds)
    p50 = statistics.median(one.load["p50"] for one in rounds)
    p99 = max(one.load["p99"] for one in rounds)
    non2xx = sum(one.load["non2xx"] for one in rounds)
    timeouts = sum(one.load["timeouts"] for one in rounds)
    print(
        f"database: {args.db}; workers {args.workers}; concurrency {args.concurrency}; "
        f"{count} round(s) of {args.seconds} s; "
        + (f"batches of {args.batch}" if args.batch else "single purchases")
    )
    print(
        f"purchases/s: {purchases_per_second:.0f}  "
        + (f"batches/s: {purchases_per_second / args.batch:.1f}  per batch " if args.batch else "")
        + f"p50: {p50:.1f} ms  p99: {p99:.1f} ms  non-2xx: {non2xx:.0f}  "
        f"timeouts: {timeouts:.0f}"
    )
    if non2xx > 0:
        # Refused requests are cheap: counting them would make a broken run look fast.
        print(
            f"INVALID RUN: {non2xx:.0f} requests were not answered 2xx "
            f"(see {workdir / 'serve.log'})"
        )
    requests = sum(one.purchases_per_second for one in rounds) * args.seconds
    server_cpu = sum(one.server_cpu for one in rounds)
    print(
        f"server CPU: {server_cpu:.1f} s in {count * args.seconds} s "
        f"({1000 * server_cpu / requests:.2f} ms per purchase); by process "
        + "; ".join(
            ", ".join(f"{seconds:.1f}" for seconds in one.by_process if seconds >= 0.05)
            for one in rounds
        )
        + f" s; load average {os.getloadavg()[0]:.1f}"
    )
    if pg:
        pg_cpu = sum(one.pg_cpu for one in rounds)
        print(f"PostgreSQL CPU: {pg_cpu:.1f} s ({1000 * pg_cpu / requests:.2f} ms per purchase)")
    summarise_outbox(rounds, drained)
    if pg:
        spent = 1000 * (server_cpu + sum(one.pg_cpu for one in rounds)) / requests
        summarise_reference(args, rounds, spent)
    else:
        print(
            "goal on SQLite: >= 500 purchases/s -> "
            + ("met" if purchases_per_second >= 500 else "NOT met")
        )


def summarise_outbox(rounds: list[Round], drained: float) -> None:
    """Whether the dispatcher kept up: the events waiting at each load's end, how soon after
    it none was."""
    last = rounds[-1]
    print(
        f"outbox: enrolments' events dispatched before the load in {drained:.1f} s; at the end "
        f"of each load "
        + ", ".join(f"{one.waiting_after}" for one in rounds)
        + f" of {last.written} events were waiting for the dispatcher; caught up "
        + ", ".join(f"{one.caught_up:.1f}" for one in rounds)
        + " s later"
        + (
            f"; {sum(one.still_waiting for one in rounds)} still waiting after 30 s"
            if any(one.still_waiting for one in rounds)
            else ""
        )
    )


def summarise_reference(args: argparse.Namespace, rounds: list[Round], spent: float) -> None:
    """pgbench's mean and the median of the rounds' ratios (each round's load and reference
    run a minute apart at most: the machine's drift between them stays small), and the CPU
    budget: what a purchase may cost, server and PostgreSQL together, for the machine's cores
    to reach the goal's rate at this pgbench, against ``spent`` (ms a purchase)."""
    tps = [one.tps for one in rounds if one.tps is not None]
    ratios = [one.ratio for one in rounds if one.ratio is not None]
    print(
        f"pgbench TPC-B (same server, -c {args.concurrency} -j 2 -M prepared, after each "
        f"round's load): {statistics.fmean(tps):.0f} tps"
    )
    print(
        f"ratio purchases/s to pgbench tps: {statistics.median(ratios):.3f} "
        f"(median of {len(rounds)} round(s): "
        + ", ".join(f"{ratio:.3f}" for ratio in ratios)
        + "; goal >= 0.25, p99 <= 100 ms)"
    )
    cores = os.cpu_count() or 1
    goal_rate = 0.25 * statistics.fmean(tps)
    print(
        f"CPU budget at the goal: {cores} cores / {goal_rate:.0f} purchases/s = "
        f"{1000 * cores / goal_rate:.2f} ms a purchase, server and PostgreSQL together; "
        f"this run spent {spent:.2f} ms"
    )
