"""Benchmark: purchase log -> summary -> BG/NBD + Gamma-Gamma -> 12-month CLV, Patron vs lifetimes.

    python bench/clv.py [--customers 1000000] [--lifetimes-customers N] [--seed 7]

The synthetic log follows the BG/NBD process with the CDNOW parameters read in days (r 0.243,
alpha 4.414 days, a 0.793, b 2.426): customers are born uniformly over the first year of a
six-year window (2019-01-01 .. 2024-12-29), which gives about 9.6 purchases per customer. Spend
per purchase follows Gamma-Gamma (p 6.25, q 3.74, gamma 15.44 dollars), stored in cents. The log
is written to a temporary Parquet file; each phase (generate, Patron, lifetimes) runs in its own
subprocess so that its peak resident memory (ru_maxrss) is its own.

lifetimes is a benchmark-only extra (pip install lifetimes pandas). With --lifetimes-customers N
below --customers, lifetimes runs on the customers with id < N (ids are random with respect to
the process) and Patron is also run on that subsample, so that parameters are compared on the
same data; lifetimes' full-size time is then an extrapolation, printed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from argparse import SUPPRESS
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

START = date(2019, 1, 1)
WINDOW_DAYS = 6 * 365
BIRTH_DAYS = 365
OBSERVATION_END = START + timedelta(days=WINDOW_DAYS - 1)
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
HORIZON_MONTHS = 12
DISCOUNT_RATE = 0.01


def generate(customers: int, seed: int, path: Path) -> dict[str, Any]:
    """Write the synthetic purchase log; every customer's first purchase is at birth."""
    rng = np.random.default_rng(seed)
    birth = rng.uniform(0.0, BIRTH_DAYS, customers)
    age = WINDOW_DAYS - birth
    rate = rng.gamma(BGNBD["r"], 1.0 / BGNBD["alpha"], customers)
    dropout = rng.beta(BGNBD["a"], BGNBD["b"], customers)
    lifetime_purchases = rng.geometric(dropout)  # dies right after its N-th repeat purchase
    arrivals = rng.poisson(rate * age)  # repeat purchases an immortal customer would make
    repeats = np.minimum(lifetime_purchases, arrivals)
    # The first `repeats` of `arrivals` uniform points on (0, age), via exponential spacings:
    # U_(k) = S_k / (S_repeats + G) with G ~ Gamma(arrivals - repeats + 1).
    owner = np.repeat(np.arange(customers), repeats)
    spacing_sums = np.cumsum(rng.standard_exponential(owner.size))
    segment_end = np.cumsum(repeats)
    segment_start_sum = np.concatenate([[0.0], spacing_sums[segment_end - 1][:-1]])
    segment_start_sum = np.where(repeats > 0, segment_start_sum, 0.0)
    totals = spacing_sums[np.maximum(segment_end - 1, 0)] - segment_start_sum
    denominator = totals + rng.gamma(arrivals - repeats + 1.0)
    within = (spacing_sums - segment_start_sum[owner]) / denominator[owner]
    repeat_days = birth[owner] + age[owner] * within
    customer = np.concatenate([np.arange(customers), owner])
    days = np.concatenate([birth, repeat_days])
    scale = rng.gamma(GAMMA_GAMMA["q"], 1.0 / GAMMA_GAMMA["gamma"], customers)
    dollars = rng.gamma(GAMMA_GAMMA["p"], 1.0, customer.size) / scale[customer]
    cents = np.maximum(np.rint(dollars * 100.0), 1).astype(np.int64)
    start = datetime(START.year, START.month, START.day, tzinfo=UTC)
    microseconds = np.floor(days * 86_400e6).astype(np.int64)
    log = pl.DataFrame(
        {
            "customer_id": customer.astype(np.int64),
            "purchased_at": pl.Series(microseconds).cast(pl.Datetime("us", "UTC"))
            + (start - datetime(1970, 1, 1, tzinfo=UTC)),
            "amount": cents,
        }
    ).sort("purchased_at")
    log.write_parquet(path)
    return {"purchases": log.height, "customers": customers}


def run_patron(path: Path, below: int | None) -> dict[str, Any]:
    from patron.analytics.clv import PurchaseColumns, TimeUnit, fit_clv, summarise_purchases

    started = time.perf_counter()
    log = pl.scan_parquet(path)
    if below is not None:
        log = log.filter(pl.col("customer_id") < below)
    summary = summarise_purchases(
        log,
        observation_end=OBSERVATION_END,
        time_unit=TimeUnit.DAYS,
        period=TimeUnit.DAYS,
        columns=PurchaseColumns(),
    )
    summarised = time.perf_counter()
    result = fit_clv(summary, horizon_months=HORIZON_MONTHS, discount_rate=DISCOUNT_RATE)
    finished = time.perf_counter()
    assert result.gamma_gamma is not None
    assert result.clv is not None
    bgnbd, spend = result.bgnbd.params, result.gamma_gamma.params
    return {
        "seconds": finished - started,
        "summary_seconds": summarised - started,
        "fit_and_score_seconds": finished - summarised,
        "customers": len(summary),
        "params": {"r": bgnbd.r, "alpha": bgnbd.alpha, "a": bgnbd.a, "b": bgnbd.b}
        | {"p": spend.p, "q": spend.q, "gamma": spend.gamma},
        "log_likelihood": result.bgnbd.log_likelihood,
        "clv_total": float(result.clv.sum()),
        "clv_of_ids": _clv_sample(result.customer_id, result.clv),
        "at_risk": int(result.at_risk.sum()),
    }


def run_lifetimes(path: Path, below: int | None) -> dict[str, Any]:
    import pandas as pd  # type: ignore[import-untyped]

    _patch_lifetimes_imports()
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    started = time.perf_counter()
    log = pl.scan_parquet(path)
    if below is not None:
        log = log.filter(pl.col("customer_id") < below)
    columns = log.collect()
    # No pyarrow here: hand pandas the NumPy arrays (naive UTC datetimes, dollars).
    frame = pd.DataFrame(
        {
            "customer_id": columns.get_column("customer_id").to_numpy(),
            "purchased_at": columns.get_column("purchased_at")
            .dt.replace_time_zone(None)
            .to_numpy(),
            "amount": columns.get_column("amount").to_numpy(),
        }
    )
    del columns
    summary = summary_data_from_transaction_data(
        frame,
        "customer_id",
        "purchased_at",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(OBSERVATION_END),
        freq="D",
    )
    del frame
    summarised = time.perf_counter()
    bgf = BetaGeoFitter()
    bgf.fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    ggf = GammaGammaFitter()
    ggf.fit(repeat["frequency"], repeat["monetary_value"])
    clv = ggf.customer_lifetime_value(
        bgf,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        time=HORIZON_MONTHS,
        discount_rate=DISCOUNT_RATE,
        freq="D",
    )
    finished = time.perf_counter()
    params = {name: float(bgf.params_[name]) for name in ("r", "alpha", "a", "b")}
    params |= {"p": float(ggf.params_["p"]), "q": float(ggf.params_["q"])}
    params["gamma"] = float(ggf.params_["v"])
    return {
        "seconds": finished - started,
        "summary_seconds": summarised - started,
        "fit_and_score_seconds": finished - summarised,
        "customers": int(summary.shape[0]),
        "params": params,
        "clv_total": float(clv.sum()),
        "clv_of_ids": _clv_sample(summary.index.to_numpy(), clv.to_numpy()),
    }


def _patch_lifetimes_imports() -> None:
    """Compatibility shims for lifetimes 0.11.3 on pandas 3 (none needed beyond warnings).

    lifetimes sets ``pd.options.mode.chained_assignment``, deprecated in pandas 3: it warns
    (Pandas4Warning) at import but still works. The warning is silenced, nothing is patched.
    """
    import warnings

    warnings.filterwarnings("ignore", message=".*chained_assignment.*")


def _clv_sample(ids: np.ndarray[Any, Any], clv: np.ndarray[Any, Any]) -> dict[str, float]:
    """CLV of a fixed handful of customers, to compare the two tools customer by customer."""
    order = np.argsort(ids)
    ids, clv = ids[order], clv[order]
    picks = np.linspace(0, ids.size - 1, 50).astype(np.int64)
    return {str(int(ids[index])): float(clv[index]) for index in picks}


def _phase(args: list[str]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; its last stdout line is the JSON result."""
    command = [sys.executable, __file__, *args]
    environment = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=environment)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _run_phase(phase: str, path: Path, customers: int, seed: int, below: int | None) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    if phase == "generate":
        result = generate(customers, seed, path)
    elif phase == "patron":
        result = run_patron(path, below)
    else:
        result = run_lifetimes(path, below)
    result["wall_seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = time.process_time() - cpu
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _runs(args: list[str], repeats: int) -> dict[str, Any]:
    """The median run by time, with every run's time and the highest peak memory."""
    runs = sorted((_phase(args) for _ in range(repeats)), key=lambda run: run["seconds"])
    median = runs[len(runs) // 2]
    median["all_seconds"] = [round(run["seconds"], 2) for run in runs]
    median["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
    return median


def _line(name: str, run: dict[str, Any]) -> str:
    return (
        f"{name}: {run['customers']:,} customers, median {run['seconds']:.2f} s of "
        f"{run['all_seconds']} (summary {run['summary_seconds']:.2f} s, fit + CLV "
        f"{run['fit_and_score_seconds']:.2f} s, CPU {run['cpu_seconds']:.1f} s), "
        f"peak RSS {run['peak_rss_mb']:.0f} MB"
    )


def _compare(patron: dict[str, Any], lifetimes: dict[str, Any]) -> None:
    """Parameters to 4 decimals (gamma in dollars, as published), CLV customer by customer."""
    ours, theirs = dict(patron["params"]), dict(lifetimes["params"])
    ours["gamma"] /= 100
    theirs["gamma"] /= 100
    agree = True
    for name, value in ours.items():
        difference = abs(value - theirs[name])
        agree = agree and round(value, 4) == round(theirs[name], 4)
        print(
            f"  {name:>5}: patron {value:.6f}  lifetimes {theirs[name]:.6f}  diff {difference:.1e}"
        )
    print("parameters agree to 4 decimals:", agree)
    clv_ours, clv_theirs = patron["clv_of_ids"], lifetimes["clv_of_ids"]
    worst = max(
        abs(clv_ours[key] - clv_theirs[key]) / max(abs(clv_theirs[key]), 1e-9) for key in clv_ours
    )
    print(f"CLV of 50 customers, largest relative difference: {worst:.1e}")
    print(f"CLV total: patron {patron['clv_total']:.0f}  lifetimes {lifetimes['clv_total']:.0f}")


def _report(
    customers: int,
    generated: dict[str, Any],
    patron: dict[str, Any],
    patron_same: dict[str, Any],
    lifetimes: dict[str, Any],
    load: float,
) -> None:
    print(f"load average at start: {load:.2f} on {os.cpu_count()} CPUs")
    print(f"log: {generated['purchases']:,} purchases of {customers:,} customers")
    print(
        f"generate: {generated['wall_seconds']:.1f} s, peak RSS {generated['peak_rss_mb']:.0f} MB"
    )
    print(_line("patron", patron))
    if patron_same is not patron:
        print(_line("patron on lifetimes' subsample", patron_same))
    print(_line("lifetimes", lifetimes))
    ratio = patron_same["seconds"] / lifetimes["seconds"]
    print(f"time patron / lifetimes on the same data: {ratio:.3f}")
    scale = customers / lifetimes["customers"]
    if scale != 1:
        extrapolated = lifetimes["seconds"] * scale
        print(f"lifetimes extrapolated linearly to {customers:,} customers: {extrapolated:.0f} s")
        print(
            f"time patron (full) / lifetimes (extrapolated): {patron['seconds'] / extrapolated:.3f}"
        )
    _compare(patron_same, lifetimes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-customers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="runs per tool (median shown)")
    parser.add_argument("--phase", choices=["generate", "patron", "lifetimes"], help=SUPPRESS)
    parser.add_argument("--path", type=Path, help=SUPPRESS)
    parser.add_argument("--below", type=int, default=None, help=SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        _run_phase(args.phase, args.path, args.customers, args.seed, args.below)
        return
    subsample = args.lifetimes_customers
    load = os.getloadavg()[0]
    below = subsample if subsample is not None and subsample < args.customers else None
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "purchases.parquet"
        common = ["--path", str(path), "--customers", str(args.customers), "--seed", str(args.seed)]
        generated = _phase(["--phase", "generate", *common])
        patron = _runs(["--phase", "patron", *common], args.repeats)
        below_args = [] if below is None else ["--below", str(below)]
        patron_same = patron
        if below is not None:
            patron_same = _runs(["--phase", "patron", *common, *below_args], args.repeats)
        lifetimes = _runs(["--phase", "lifetimes", *common, *below_args], args.repeats)
    _report(args.customers, generated, patron, patron_same, lifetimes, load)


if __name__ == "__main__":
    main()
