"""``patron simulate``: what a proposed program would have issued and cost over a history."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from patron.cli.options import (
    DbOption,
    JsonOption,
    patron_errors_exit,
    print_json,
    read_text_file,
    run,
)
from patron.kit.db import Database, database_url
from patron.kit.money import format_amount
from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from patron.programs.schema import Program
from patron.purchases.bulk.errors import ImportFileError
from patron.simulator.schemas import ProgramRun, SimulationReport
from patron.simulator.service import simulate_database, simulate_history

MAX_ERRORS_SHOWN = 1000

ProgramFile = Annotated[
    Path,
    typer.Option("--program", help="The proposed program (YAML).", show_default=False),
]
HistoryFile = Annotated[
    Path | None,
    typer.Option(
        "--history",
        help="A .csv or .parquet purchase file (the columns of `patron import purchases`).",
        show_default=False,
    ),
]
BaselineFile = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        help="With --history: a program to compare with (default: no comparison).",
        show_default=False,
    ),
]
RateOption = Annotated[
    str | None,
    typer.Option(
        "--redemption-rate",
        help="Share of issued points expected to be redeemed, 0 to 1 (default: the "
        "database's redeemed/earned, else 0.7).",
        show_default=False,
    ),
]


def _load(path: Path, json_output: bool) -> Program:
    """The program of ``path``; exit 2 listing every problem with its path, as
    ``patron program validate`` does."""
    text = read_text_file(path)
    try:
        return load_program(text)
    except ProgramInvalidError as error:
        if json_output:
            problems = [
                {"path": p.path, "message": p.message, "line": p.line} for p in error.problems
            ]
            print_json({"valid": False, "file": str(path), "errors": problems})
        else:
            typer.echo(f"{path}: {len(error.problems)} problem(s)", err=True)
            for line in error.format_errors():
                typer.echo(f"  {line}", err=True)
        raise typer.Exit(2) from error


def _rate(text: str | None) -> Fraction | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not 0 <= value <= 1:
        typer.echo(f"error: --redemption-rate must be a number from 0 to 1, not {text!r}", err=True)
        raise typer.Exit(2)
    return Fraction(value)


def _missing_sqlite_file(url: str | None) -> str | None:
    """The path of a SQLite database that does not exist (opening it would create it)."""
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if Path(parsed.database).exists() else parsed.database


async def _from_database(
    url: str | None, program: Program, key: str, rate: Fraction | None
) -> SimulationReport:
    missing = _missing_sqlite_file(url)
    if missing is not None:
        typer.echo(f"error: cannot read the database: no file {missing}", err=True)
        raise typer.Exit(1)
    database = Database(url)
    try:
        async with database.read() as session:
            return await simulate_database(session, program=program, key=key, redemption_rate=rate)
    except SQLAlchemyError as error:
        typer.echo(f"error: cannot read the database: {error.__class__.__name__}", err=True)
        raise typer.Exit(1) from error
    finally:
        await database.dispose()


def _from_history(
    path: Path,
    program: Program,
    baseline: Program | None,
    baseline_path: Path | None,
    rate: Fraction | None,
) -> SimulationReport:
    """Exit 2 when the file cannot be read at all, 1 on another Patron error."""
    with patron_errors_exit():
        try:
            return simulate_history(
                path,
                program=program,
                baseline=baseline,
                baseline_source=None if baseline_path is None else str(baseline_path),
                redemption_rate=rate,
            )
        except ImportFileError as error:
            typer.echo(f"error: {error.code}: {error.message}", err=True)
            raise typer.Exit(2) from error


def _money(minor: int, currency: str) -> str:
    return f"{format_amount(minor, currency)} {currency}"


_TOTALS = [
    ("points issued", "points_issued", False),
    ("of which by earn rules", "points_from_rules", False),
    ("of which by campaigns", "points_from_campaigns", False),
    ("  on other triggers", "points_from_other_triggers", False),
    ("points expired", "points_expired", False),
    ("points pending at the end", "points_pending", False),
    ("points available at the end", "points_available", False),
    ("points outstanding at the end", "points_outstanding", False),
    ("of which expire later", "points_expiring_later", False),
    ("expected redeemed points", "expected_redeemed_points", False),
    ("expected redemption cost", "expected_redemption_cost", True),
    ("expected breakage points", "expected_breakage_points", False),
    ("liability at the end", "liability", True),
]


def _totals_table(report: SimulationReport) -> Table:
    proposed, baseline = report.proposed, report.baseline
    currency = proposed.currency
    table = Table(title="Totals", title_justify="left")
    table.add_column("")
    table.add_column("proposed", justify="right")
    if baseline is not None:
        table.add_column("baseline", justify="right")
        table.add_column("difference", justify="right")
    for label, name, is_money in _TOTALS:
        values = [getattr(proposed.totals, name)]
        if baseline is not None:
            theirs = getattr(baseline.totals, name)
            values += [theirs, values[0] - theirs]
        table.add_row(label, *(_money(v, currency) if is_money else f"{v:,}" for v in values))
    return table


def _months_table(run_: ProgramRun) -> Table:
    table = Table(title=f"By month: {run_.name}", title_justify="left")
    for name in ("month", "issued", "expired", "pending", "available", "liability"):
        table.add_column(name, justify="left" if name == "month" else "right")
    for tier in run_.tiers:
        table.add_column(tier, justify="right")
    for month in run_.months:
        table.add_row(
            month.month,
            f"{month.points_issued:,}",
            f"{month.points_expired:,}",
            f"{month.points_pending:,}",
            f"{month.points_available:,}",
            _money(month.liability, run_.currency),
            *(f"{month.tiers[tier]:,}" for tier in run_.tiers),
        )
    return table


def _optional(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _campaigns_table(run_: ProgramRun) -> Table:
    table = Table(title=f"Campaigns: {run_.name}", title_justify="left")
    names = ("campaign", "applied", "members", "points", "budget left", "ran out",
             "coupons", "wallet", "messages", "prizes", "entries")  # fmt: skip
    for name in names:
        table.add_column(name, justify="left" if name in ("campaign", "ran out") else "right")
    for item in run_.campaigns:
        ran_out = item.budget_exhausted_at
        money_out = item.budget_money_exhausted_at
        if ran_out is not None:
            out = ran_out.date().isoformat()
        else:
            out = "-" if money_out is None else f"{money_out.date().isoformat()} (money)"
        table.add_row(
            item.key if item.trigger == "purchase" else f"{item.key} ({item.trigger})",
            f"{item.applications:,}",
            f"{item.participants:,}",
            f"{item.points_issued:,}",
            _optional(item.budget_left),
            out,
            f"{item.coupons_issued:,}",
            _money(item.wallet_credited, run_.currency),
            f"{item.messages:,}",
            _optional(item.prizes_won),
            _optional(item.raffle_entries),
        )
    return table


def _print_campaigns(console: Console, run_: ProgramRun) -> None:
    if run_.campaigns:
        console.print(_campaigns_table(run_))
    for item in run_.campaigns_not_projected:
        console.print(f"not projected: {item.key} ({item.trigger}): {item.reason}")


def _print(report: SimulationReport) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    proposed = report.proposed
    console.print(
        f"[bold]{proposed.name}[/bold] over {report.source} ({report.purchases:,} purchases, "
        f"{proposed.totals.purchases:,} by {proposed.totals.members:,} members; "
        f"{report.refused_purchases:,} refused)"
    )
    console.print(
        f"redemption rate {report.redemption_rate} ({report.redemption_rate_source}); "
        f"a point is worth {proposed.value_per_point} minor units of {proposed.currency}"
    )
    if report.baseline is not None:
        console.print(f"baseline: {report.baseline_source}")
    console.print(_totals_table(report))
    console.print(_months_table(proposed))
    _print_campaigns(console, proposed)
    console.print(f"{report.seconds:.2f} s")


def simulate(
    program: ProgramFile,
    db: DbOption = None,
    history: HistoryFile = None,
    baseline: BaselineFile = None,
    key: Annotated[str, typer.Option("--key", help="Program key in the database.")] = "default",
    redemption_rate: RateOption = None,
    json_output: JsonOption = False,
) -> None:
    """Replay a purchase history under a proposed program: points issued per month, pending
    and available points, expiry, expected redemptions and their cost, liability, tiers at
    each month end, and the difference from the active program (--db) or from --baseline
    (--history). Reads only. Exit 2 for a bad program or history file (every problem listed)
    or bad options; the method is in docs/simulator.md."""
    proposed = _load(program, json_output)
    rate = _rate(redemption_rate)
    if history is not None and db is not None:
        typer.echo("error: give --db or --history, not both", err=True)
        raise typer.Exit(2)
    if baseline is not None and history is None:
        typer.echo(
            "error: --baseline goes with --history (--db compares with the active program)",
            err=True,
        )
        raise typer.Exit(2)
    if history is None:
        report = run(_from_database(db, proposed, key, rate))
    else:
        compared = _load(baseline, json_output) if baseline is not None else None
        report = _from_history(history, proposed, compared, baseline, rate)
    for problem in report.errors[:MAX_ERRORS_SHOWN]:
        typer.echo(
            f"row {problem.row}, {problem.column}: {problem.code}: {problem.message}", err=True
        )
    if json_output:
        print_json(report.to_dict())
    else:
        _print(report)
