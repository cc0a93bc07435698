"""``patron analytics``: customer lifetime value and churn risk, loyalty KPIs.

The CLV models (SciPy) are imported by the ``clv`` command only, so that the other commands
start fast."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import polars as pl
import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.analytics.kpis.inputs import KpiSettings, Period
from patron.analytics.kpis.service import Breakdown, KpiQuery, kpi_report
from patron.analytics.purchase_log import member_purchase_log
from patron.cli.options import (
    DbOption,
    JsonOption,
    in_unit_of_work,
    patron_errors_exit,
    print_json,
    run,
)
from patron.cli.rfm import rfm
from patron.kit.money import exponent
from patron.kit.text import ascii_digits
from patron.kit.time import utcnow

if TYPE_CHECKING:
    from patron.analytics.clv.pipeline import ClvResult
    from patron.analytics.clv.summary import CustomerSummary

app = typer.Typer(help="Analytics: CLV, churn risk, loyalty KPIs.", no_args_is_help=True)


def _read_log(path: Path) -> pl.DataFrame:
    with _file_errors(path, "--input"):
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, try_parse_dates=True)


@contextmanager
def _file_errors(path: Path, option: str) -> Iterator[None]:
    """A file that is not there, not a file, not readable or not the format it claims is
    click's bad-parameter error on ``option`` (exit 2), not a traceback."""
    try:
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a file", param_hint=option)
        yield
    except (OSError, UnicodeDecodeError, pl.exceptions.PolarsError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error).splitlines()[0]
        raise typer.BadParameter(f"cannot read {path}: {reason}", param_hint=option) from error


def _summary_from_file(path: Path) -> CustomerSummary:
    from patron.analytics.clv.cdnow import (
        read_cdnow_summary,
        read_cdnow_summary_with_transactions,
    )

    with _file_errors(path, "--summary"):
        header = pl.read_csv(path, n_rows=1).columns
        if "zbar" in header:
            return read_cdnow_summary_with_transactions(path)
        return read_cdnow_summary(path)


def _summary_from_log(log: pl.DataFrame, end: date | None) -> CustomerSummary:
    from patron.analytics.clv.errors import ClvInputError
    from patron.analytics.clv.summary import PurchaseColumns, TimeUnit, summarise_purchases

    missing = {"customer_id", "purchased_at"} - set(log.columns)
    if missing:
        raise ClvInputError(f"the purchase log lacks columns {sorted(missing)}", field="input")
    if log.height == 0:
        raise ClvInputError("the purchase log is empty", field="input")
    if end is None:
        last = log.get_column("purchased_at").max()
        end = (
            last.date() if isinstance(last, datetime) else last if isinstance(last, date) else None
        )
    if end is None:
        raise ClvInputError("purchased_at must hold dates or times", field="input")
    columns = "amount" in log.columns
    return summarise_purchases(
        log,
        observation_end=end,
        time_unit=TimeUnit.DAYS,
        columns=PurchaseColumns(amount="amount" if columns else None),
    )


def _write_scores(result: ClvResult, out: Path) -> None:
    clv = result.clv.tolist() if result.clv is not None else [None] * len(result.p_alive)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "p_alive", "expected_purchases", "clv", "at_risk"])
        for row in zip(
            result.customer_id.tolist(),
            result.p_alive.tolist(),
            result.expected_purchases.tolist(),
            clv,
            result.at_risk.tolist(),
            strict=True,
        ):
            writer.writerow(row)


@app.command("clv")
def clv(
    db: DbOption = None,
    input_log: Annotated[
        Path | None,
        typer.Option(
            "--input", help="Purchase log (CSV or Parquet): customer_id, purchased_at, amount."
        ),
    ] = None,
    summary_file: Annotated[
        Path | None,
        typer.Option("--summary", help="A customer summary CSV (the CDNOW summaries as they are)."),
    ] = None,
    horizon: Annotated[
        float | None,
        typer.Option(help="Horizon in the data's unit: days for a log, weeks for a summary."),
    ] = None,
    discount_rate: Annotated[float, typer.Option(help="Monthly discount rate of the CLV.")] = 0.01,
    end: Annotated[
        str | None, typer.Option(help="Observation end (YYYY-MM-DD) of a log; default: last day.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write per-customer scores to this CSV.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Fit BG/NBD (and Gamma-Gamma when spend is known); print the parameters and score every
    customer: P(alive), expected purchases over the horizon, CLV, and the at-risk flag."""
    if sum(x is not None for x in (input_log, summary_file)) > 1:
        raise typer.BadParameter("give one of --db, --input or --summary")
    from patron.analytics.clv.pipeline import fit_clv
    from patron.analytics.clv.summary import TimeUnit

    try:
        observation_end = date.fromisoformat(end) if end else None
    except ValueError as error:
        raise typer.BadParameter(f"not a day YYYY-MM-DD: {end!r}", param_hint="--end") from error

    async def from_database(session: AsyncSession) -> pl.DataFrame:
        return await member_purchase_log(session)

    log = (
        run(in_unit_of_work(db, from_database, write=False))
        if (input_log is None and summary_file is None)
        else None
    )
    with patron_errors_exit():
        if summary_file is not None:
            summary = _summary_from_file(summary_file)
        elif input_log is not None:
            summary = _summary_from_log(_read_log(input_log), observation_end)
        else:
            assert log is not None
            summary = _summary_from_log(log, observation_end or utcnow().date())
        default = 52.0 if summary.time_unit is TimeUnit.WEEKS else 365.0
        result = fit_clv(summary, horizon=horizon or default, discount_rate=discount_rate)
    if out is not None:
        try:
            _write_scores(result, out)
        except OSError as error:
            typer.echo(f"error: cannot write {out}: {error.strerror}", err=True)
            raise typer.Exit(2) from error
    if json_output:
        print_json(result.to_json_dict())
        return
    params = result.bgnbd.params
    typer.echo(
        f"BG/NBD: r={params.r:.4f} alpha={params.alpha:.4f} a={params.a:.4f} "
        f"b={params.b:.4f} log-likelihood={result.bgnbd.log_likelihood:.2f}"
    )
    if result.gamma_gamma is not None:
        spend = result.gamma_gamma.params
        typer.echo(f"Gamma-Gamma: p={spend.p:.4f} q={spend.q:.4f} gamma={spend.gamma:.4f}")
    at_risk = int(result.at_risk.sum())
    mean_alive = float(result.p_alive.mean())
    typer.echo(
        f"{len(result.p_alive)} customers; mean P(alive) {mean_alive:.3f}; "
        f"{at_risk} high-value customers at risk"
    )
    if result.clv is not None:
        total = float(result.clv.sum())
        typer.echo(
            f"total CLV over {result.horizon_months} months: {total:,.2f}"
            if math.isfinite(total)
            else "total CLV: not finite"
        )
    if out is not None:
        typer.echo(f"scores written to {out}")


app.command("rfm")(rfm)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{name}: expected YYYY-MM-DD, got {value!r}") from error


@app.command("kpis")
def kpis(
    db: DbOption = None,
    first: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day, included.")] = None,
    baseline_from: Annotated[str | None, typer.Option(help="First day of the baseline.")] = None,
    baseline_to: Annotated[str | None, typer.Option(help="Last day of the baseline.")] = None,
    by: Annotated[
        list[Breakdown] | None, typer.Option(help="Break down by tier or segment.")
    ] = None,
    period: Annotated[Period, typer.Option(help="Granularity of retention.")] = Period.MONTH,
    margin_rate: Annotated[
        float | None, typer.Option(envvar="PATRON_MARGIN_RATE", help="Gross margin rate (ROI).")
    ] = None,
    point_value: Annotated[
        float | None,
        typer.Option(envvar="PATRON_POINT_VALUE", help="Minor units per point (default: derived)."),
    ] = None,
    expected_redemption: Annotated[
        float | None,
        typer.Option(envvar="PATRON_EXPECTED_REDEMPTION", help="Expected redemption rate."),
    ] = None,
    operating_cost: Annotated[
        int, typer.Option(envvar="PATRON_OPERATING_COST", help="Program running cost, minor units.")
    ] = 0,
    json_output: JsonOption = False,
) -> None:
    """Loyalty KPIs of the active program: members, points, liability, ROI, retention,
    cohorts, members vs non-members, before/after a baseline, per tier or segment.
    Definitions: docs/metrics.md."""
    settings = _settings(
        {
            "--margin-rate": margin_rate,
            "--point-value": point_value,
            "--expected-redemption": expected_redemption,
        },
        ("--operating-cost", operating_cost),
        period,
    )
    query = KpiQuery(
        first=_day(first, "--from"),
        last=_day(last, "--to"),
        baseline_first=_day(baseline_from, "--baseline-from"),
        baseline_last=_day(baseline_to, "--baseline-to"),
        by=tuple(dict.fromkeys(by or ())),
        settings=settings,
    )

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await kpi_report(session, query=query, today=utcnow().date())

    report = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(report)
        return
    from patron.cli.kpi_table import print_report  # rich's tables: not for --json

    print_report(report, exponent(report["program"]["currency"]))


@app.command("report")
def report(
    out: Annotated[Path, typer.Option(help="The HTML file to write.")],
    db: DbOption = None,
    first: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day, included.")] = None,
    by: Annotated[
        list[Breakdown] | None, typer.Option(help="Break down by tier or segment.")
    ] = None,
    period: Annotated[Period, typer.Option(help="Granularity of the trends.")] = Period.MONTH,
) -> None:
    """Write the KPIs as one self-contained HTML page with charts (trends, cohort heat map,
    members vs non-members, per group); plotly.js is inlined, so it opens offline. The
    settings (margin rate, point value...) come from the PATRON_* variables of `kpis`."""
    from patron.analytics.kpis.html import render_report

    settings = _settings(
        {
            "PATRON_MARGIN_RATE": _env_float("PATRON_MARGIN_RATE"),
            "PATRON_POINT_VALUE": _env_float("PATRON_POINT_VALUE"),
            "PATRON_EXPECTED_REDEMPTION": _env_float("PATRON_EXPECTED_REDEMPTION"),
        },
        ("PATRON_OPERATING_COST", _env_cost()),
        period,
    )
    query = KpiQuery(
        first=_day(first, "--from"),
        last=_day(last, "--to"),
        by=tuple(dict.fromkeys(by or ())),
        settings=settings,
    )

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await kpi_report(session, query=query, today=utcnow().date())

    figures = run(in_unit_of_work(db, work, write=False))
    page = render_report(figures, exponent(figures["program"]["currency"]))
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        typer.echo(f"error: cannot write {out}: {error.strerror}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"report written to {out}")


# the bounds of ``GET /api/v1/analytics/kpis``'s parameters: rates 0 to 1, a point's value 0 to
# 10^9 minor units, the running cost 0 to 10^15 (NaN and infinity are no number)
_HIGHEST = (1.0, 1e9, 1.0)
_COST_HIGHEST = 10**15


def _settings(rates: dict[str, float | None], cost: tuple[str, int], period: Period) -> KpiSettings:
    """The KPI settings, each within the API's bounds (else exit 2 naming its option)."""
    for (name, value), highest in zip(rates.items(), _HIGHEST, strict=True):
        if value is not None and not (math.isfinite(value) and 0 <= value <= highest):
            raise typer.BadParameter(f"must be a number from 0 to {highest:g}", param_hint=name)
    cost_name, cost_value = cost
    if not 0 <= cost_value <= _COST_HIGHEST:
        raise typer.BadParameter(
            f"must be a whole number from 0 to {_COST_HIGHEST}", param_hint=cost_name
        )
    margin, point, redemption = rates.values()
    return KpiSettings(
        margin_rate=margin,
        point_value=point,
        expected_redemption_rate=redemption,
        operating_cost=cost_value,
        period=period,
    )


def _env_cost() -> int:
    value = os.environ.get("PATRON_OPERATING_COST", "0").strip() or "0"
    if not ascii_digits(value):
        raise typer.BadParameter(f"PATRON_OPERATING_COST: not a whole number: {value!r}")
    return int(value)


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError as error:
        raise typer.BadParameter(f"{name}: not a number: {value!r}") from error
