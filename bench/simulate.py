"""Simulator benchmark: ``patron simulate --history`` on a synthetic purchase file, against a
reference in the same run: reading the same file with Polars and grouping its rows into
purchases (sum of the lines per order), which is the least any replay has to do.

    python bench/simulate.py [--purchases 1000000] [--members 100000] [--repeats 1]
                             [--program examples/seed-program.yaml] [--campaigns] [--profile]

The file (a temporary Parquet, the columns of ``patron import purchases``): ``--purchases``
orders over two years, about 2.5 lines each (categories coffee, tea, cakes, beans, merch),
a fifth without a member, member activity skewed (a few heavy buyers reach the top tiers),
some orders with shipping, channels web/store. Timed, each ``--repeats`` times (the median is
printed, wall time and the CPU time of all threads):

1. reference: ``pl.read_parquet`` + ``group_by(external_id)`` with the order's line total;
2. ``simulate_history`` (what ``patron simulate --history`` calls, without printing): read
   and check the file with the importer's reader, replay it under the program (vectorised
   scoring once per tier, the tier walk, lot timing) and under the same program as baseline,
   month series, money.

``--campaigns`` adds :data:`CAMPAIGNS` to the program: purchase campaigns over the file's two
years of every points effect and stacking policy, a tier audience, per-member and global
limits, a budget that runs out, an every-N-th prize and a raffle (the replay's ordered pass).

``--profile`` writes a cProfile of one simulation to ``/tmp/patron-simulate.prof``.
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from patron.programs.loader import load_program
from patron.simulator.service import simulate_history

REPO = Path(__file__).resolve().parents[1]
START = datetime(2025, 1, 1, tzinfo=UTC)
CATEGORIES = np.array(["coffee", "tea", "cakes", "beans", "merch"])
PRICES = np.array([45_000, 30_000, 25_000, 90_000, 120_000])  # minor units, per category


CAMPAIGNS = """
campaigns:
  - key: spring-bonus
    name: {en: Spring bonus}
    window: {start: "2025-03-01", end: "2025-05-31"}
    when: {order_total_gte: "1500.00"}
    effect: {bonus_points: 200}
    limits: {per_member: 1, period: week}
    budget: {points: 5000000}
  - key: tea-lines
    name: {en: Tea for members}
    window: {start: "2025-01-01", end: "2026-12-31"}
    audience: {tiers: [silver, gold]}
    when: {line_category_in: [tea]}
    effect: {multiply_lines: 3}
    stacking: best_of
  - key: black-week
    name: {en: Black week}
    window: {start: "2025-11-24", end: "2025-11-30"}
    effect: {multiply_order: 2}
    stacking: best_of
  - key: big-basket
    name: {en: Big basket}
    window: {start: "2025-01-01", end: "2026-12-31"}
    when: {order_total_gte: "5000.00"}
    effect: {bonus_points: 1000}
    stacking: exclusive
    priority: 5
    limits: {total: 2000}
  - key: hundredth
    name: {en: Every hundredth}
    window: {start: "2026-01-01", end: "2026-12-31"}
    prize: {every: 100}
    effect: {bonus_points: 500}
    deferred:
      - credit_wallet: {percent: "5"}
  - key: summer-raffle
    name: {en: Summer raffle}
    window: {start: "2026-06-01", end: "2026-08-31"}
    raffle: {per_amount: "1000.00"}
"""


def _money(minor: pl.Expr) -> pl.Expr:
    return pl.format("{}.{}", minor // 100, (minor % 100).cast(pl.String).str.zfill(2))


def build_file(path: Path, purchases: int, members: int, seed: int = 7) -> int:
    """Write the synthetic file; returns its number of rows."""
    rng = np.random.default_rng(seed)
    start = int(START.timestamp())
    weights = rng.pareto(1.5, members) + 1
    member = rng.choice(members, size=purchases, p=weights / weights.sum())
    has_member = rng.random(purchases) >= 0.2
    seconds = np.sort(rng.integers(0, 2 * 365 * 86_400, purchases))
    lines = rng.integers(1, 5, purchases)
    order = np.repeat(np.arange(purchases), lines)
    rows = len(order)
    category = rng.integers(0, len(CATEGORIES), rows)
    price = PRICES[category] + rng.integers(-5_000, 5_000, rows) // 100 * 100
    quantity = rng.integers(1, 4, rows)
    goods = np.bincount(order, weights=price * quantity, minlength=purchases).astype(np.int64)
    shipping = np.where(rng.random(purchases) < 0.15, 29_900, 0)
    frame = pl.DataFrame(
        {
            "external_id": pl.Series(order).cast(pl.String),
            "member_external_id": pl.Series(np.where(has_member, member, -1)[order]),
            "occurred_at": pl.Series((start + seconds[order]) * 1_000_000).cast(
                pl.Datetime("us", "UTC")
            ),
            "total": (goods + shipping)[order],
            "shipping": shipping[order],
            "channel": np.where(rng.random(purchases) < 0.4, "web", "store")[order],
            "sku": pl.Series(category * 100 + rng.integers(0, 20, rows)).cast(pl.String),
            "category": CATEGORIES[category],
            "quantity": quantity,
            "unit_price": price,
        }
    )
    frame = frame.select(
        pl.format("o-{}", "external_id").alias("external_id"),
        pl.when(pl.col("member_external_id") >= 0)
        .then(pl.format("c-{}", "member_external_id"))
        .alias("member_external_id"),
        "occurred_at",
        pl.lit("RUB").alias("currency"),
        _money(pl.col("total")).alias("total"),
        _money(pl.col("shipping")).alias("shipping"),
        "channel",
        pl.lit(None, dtype=pl.String).alias("store"),
        "sku",
        "category",
        "quantity",
        _money(pl.col("unit_price")).alias("unit_price"),
    )
    frame.write_parquet(path)
    return rows


def reference(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of reading the file and grouping its rows into purchases."""
    started, cpu = time.perf_counter(), time.process_time()
    frame = pl.read_parquet(path)
    amount = pl.col("unit_price").str.replace(".", "", literal=True).cast(pl.Int64)
    grouped = frame.group_by("external_id").agg(
        pl.col("member_external_id").first(),
        pl.col("occurred_at").first(),
        (amount * pl.col("quantity")).sum().alias("goods"),
    )
    assert grouped.height > 0
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--program", type=Path, default=REPO / "examples" / "seed-program.yaml")
    parser.add_argument("--campaigns", action="store_true")
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args()
    text = arguments.program.read_text(encoding="utf-8")
    program = load_program(text + CAMPAIGNS if arguments.campaigns else text)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "history.parquet"
        started = time.perf_counter()
        rows = build_file(path, arguments.purchases, arguments.members)
        print(f"file: {arguments.purchases:,} purchases, {rows:,} rows, "
              f"built in {time.perf_counter() - started:.1f} s")  # fmt: skip
        references: list[tuple[float, float]] = []
        simulations: list[tuple[float, float]] = []
        for _ in range(arguments.repeats):
            references.append(reference(path))
            started, cpu = time.perf_counter(), time.process_time()
            report = simulate_history(
                path, program=program, baseline=program, baseline_source="same"
            )
            simulations.append((time.perf_counter() - started, time.process_time() - cpu))
        if arguments.profile:
            cProfile.runctx(
                "simulate_history(path, program=program)",
                globals(),
                {"path": path, "program": program, "simulate_history": simulate_history},
                "/tmp/patron-simulate.prof",
            )
    totals = report.proposed.totals
    print(f"replayed: {totals.purchases:,} member purchases of {totals.members:,} members, "
          f"{totals.points_issued:,} points, {len(report.proposed.months)} months, "
          f"tiers at the end {report.proposed.months[-1].tiers}")  # fmt: skip
    for item in report.proposed.campaigns:
        print(f"campaign {item.key} ({item.method}): {item.applications:,} applications, "
              f"{item.points_issued:,} points, budget left {item.budget_left}, "
              f"ran out {item.budget_exhausted_at}")  # fmt: skip
    for unit, index in (("wall", 0), ("CPU", 1)):
        base = statistics.median(r[index] for r in references)
        simulated = statistics.median(r[index] for r in simulations)
        print(f"{unit}: reference (read + group with Polars) {base:.2f} s, "
              f"patron simulate (proposed + baseline) {simulated:.2f} s, "
              f"ratio {simulated / base:.1f}")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
