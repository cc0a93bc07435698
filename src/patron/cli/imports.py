"""``patron import``: load data from files."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from patron.cli.options import DbOption, JsonOption, print_json, run
from patron.kit.db import Database
from patron.purchases.bulk.errors import ImportFileError
from patron.purchases.bulk.report import ImportReport
from patron.purchases.bulk.service import DEFAULT_BATCH_SIZE, import_rows
from patron.purchases.bulk.source import read_rows

if TYPE_CHECKING:
    from patron.onboarding.service import MemberImportReport
    from patron.products.importer import ProductImportReport

app = typer.Typer(help="Load data from CSV, XLSX or Parquet files.", no_args_is_help=True)

MAX_ERRORS_SHOWN = 1000
T = TypeVar("T")


def _progress_bar(console: Console) -> Progress:
    """The bar every import shows: rows done of the total, elapsed and remaining time."""
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console)


Advance = Callable[[int, int], None]


async def _with_progress(
    db: str | None,
    total: int,
    console: Console,
    work: Callable[[Database, Advance], Awaitable[T]],
) -> T:
    """Upgrade the database, then ``work(database, advance)`` under the progress bar."""
    from patron.migrations import upgrade_schema

    database = Database(db)
    try:
        await upgrade_schema(database.url)
        with _progress_bar(console) as progress:
            task = progress.add_task("import", total=total)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await work(database, advance)
    finally:
        await database.dispose()


async def _import(
    db: str | None,
    rows: pl.DataFrame,
    key: str,
    batch_size: int,
    skip_bad: bool,
    console: Console,
) -> ImportReport:
    async def work(database: Database, advance: Advance) -> ImportReport:
        return await import_rows(
            database,
            rows,
            program_key=key,
            batch_size=batch_size,
            skip_bad=skip_bad,
            progress=advance,
        )

    return await _with_progress(db, rows.height, console, work)


def _print_report(report: ImportReport) -> None:
    lines = [
        f"rows:               {report.rows} ({report.rows_refused} refused)",
        f"purchases:          {report.purchases}",
        f"  loaded:           {report.purchases_loaded} "
        f"({report.purchases_replayed} through the per-event path)",
        f"  already recorded: {report.purchases_skipped_existing}",
        f"  refused:          {report.purchases_refused}",
        f"  not loaded:       {report.purchases_not_loaded} "
        f"(in {report.batches_refused} refused batch(es) of {report.batches})",
        f"points issued:      {report.points_issued}",
        f"tier upgrades:      {report.tier_upgrades}",
        f"seconds:            {report.seconds:.2f}",
    ]
    for line in lines:
        typer.echo(line)


def _print_errors(report: ImportReport | MemberImportReport | ProductImportReport) -> None:
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        typer.echo(f"row {error.row}, {error.column}: {error.code}: {error.message}", err=True)
    hidden = len(report.errors) - MAX_ERRORS_SHOWN
    if hidden > 0:
        typer.echo(f"... and {hidden} more refused row(s) (--json lists them all)", err=True)


@app.command("purchases")
def purchases(
    file: Annotated[
        Path,
        typer.Argument(
            help="A .csv, .xlsx or .parquet file, one row per purchase line.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    key: Annotated[str, typer.Option("--key", help="Program key.")] = "default",
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows per unit of work.")
    ] = DEFAULT_BATCH_SIZE,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Load the good purchases of a batch with bad rows.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Import purchases from a CSV, XLSX or Parquet file (one row per purchase line; columns in
    docs/import.md). Points, lots, tiers and rule limits come out exactly as if each purchase
    had been recorded through the API, in time order, now. Purchases already recorded with the
    same content are skipped. A batch with a bad row loads nothing unless --skip-bad (then
    only the bad purchases are left out). Every refused row is reported with its row number,
    column and reason; the exit code is 1 when a row was refused, 2 when the file cannot be
    read."""
    started = time.perf_counter()
    try:
        rows = read_rows(file)
    except ImportFileError as error:
        typer.echo(f"error: {error.code}: {error.message}", err=True)
        raise typer.Exit(2) from error
    report = run(_import(db, rows, key, batch_size, skip_bad, Console(stderr=True)))
    report.seconds = time.perf_counter() - started
    if json_output:
        print_json(report.to_dict())
    else:
        _print_report(report)
        _print_errors(report)
    if not report.is_clean:
        raise typer.Exit(1)


async def _import_members(
    db: str | None, rows: pl.DataFrame, options: dict[str, Any], console: Console
) -> MemberImportReport:
    from patron.onboarding.service import import_members

    async def work(database: Database, advance: Advance) -> MemberImportReport:
        return await import_members(database, rows, progress=advance, **options)

    return await _with_progress(db, rows.height, console, work)


def _print_members_report(report: MemberImportReport | ProductImportReport) -> None:
    verb = "would be" if report.dry_run else "were"
    lines = [
        f"rows:               {report.rows}",
        f"new:                {report.new}",
        f"unchanged:          {report.unchanged}",
        f"updated:            {report.updated}",
        f"refused:            {report.refused}",
        f"not loaded:         {report.not_loaded} (good rows of a file with refused rows)",
        f"seconds:            {report.seconds:.2f}",
    ]
    opening = getattr(report, "opening_points", None)  # members only
    if opening is not None:
        lines.insert(-1, f"opening points:     {opening} (of the new members)")
    if report.dry_run:
        lines.append(f"dry run: nothing {verb} written")
    for line in lines:
        typer.echo(line)


@app.command("members")
def members(
    file: Annotated[
        Path,
        typer.Argument(
            help="A .csv, .xlsx or .parquet file, one row per member.", show_default=False
        ),
    ],
    db: DbOption = None,
    key: Annotated[str, typer.Option("--key", help="Program key.")] = "default",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and tell what would happen.")
    ] = False,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Load the good rows of a file with bad rows.")
    ] = False,
    attributes: Annotated[
        str,
        typer.Option(
            "--attributes", help="Comma-separated columns to keep as free member attributes."
        ),
    ] = "",
    phone_region: Annotated[
        str | None,
        typer.Option(
            "--phone-region",
            help="Country of phone numbers without a country code (default: the program's).",
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            min=1,
            help="Members per write (with --skip-bad, per unit of work; without, the file is one).",
        ),
    ] = 5_000,
    json_output: JsonOption = False,
) -> None:
    """Import members from a CSV, XLSX or Parquet file (one row per member; columns in
    docs/import.md): profile, consents, free attributes, opening balances and carried-over
    tiers. Each row is idempotent by external_id: a member already imported with the same row
    is unchanged, with a different row updated (an opening balance is corrected by an
    adjustment). --dry-run checks the whole file and prints what would happen (new, unchanged,
    updated, refused) without writing. A file with a bad row loads nothing unless --skip-bad
    (without it the file is one unit of work).
    Every refused row is reported with its row number, column and reason; the exit code is 1
    when a row was refused, 2 when the file cannot be read."""
    from patron.onboarding.service import read_members

    started = time.perf_counter()
    names = [name.strip() for name in attributes.split(",") if name.strip()]
    try:
        rows = read_members(file, attributes=names)
    except ImportFileError as error:
        typer.echo(f"error: {error.code}: {error.message}", err=True)
        raise typer.Exit(2) from error
    options: dict[str, Any] = {
        "program_key": key,
        "attributes": names,
        "phone_region": phone_region,
        "dry_run": dry_run,
        "skip_bad": skip_bad,
        "batch_size": batch_size,
    }
    report = run(_import_members(db, rows, options, Console(stderr=True)))
    report.seconds = time.perf_counter() - started
    if json_output:
        print_json(report.to_dict())
    else:
        _print_members_report(report)
        _print_errors(report)
    if not report.is_clean:
        raise typer.Exit(1)


async def _import_products(
    db: str | None, rows: pl.DataFrame, options: dict[str, Any], console: Console
) -> ProductImportReport:
    from patron.products.importer import import_products

    async def work(database: Database, advance: Advance) -> ProductImportReport:
        return await import_products(database, rows, progress=advance, **options)

    return await _with_progress(db, rows.height, console, work)


@app.command("products")
def products(
    file: Annotated[
        Path,
        typer.Argument(
            help="A .csv, .xlsx or .parquet file, one row per product.", show_default=False
        ),
    ],
    db: DbOption = None,
    key: Annotated[str, typer.Option("--key", help="Program key.")] = "default",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and tell what would happen.")
    ] = False,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Load the good rows of a file with bad rows.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Products per unit of work.")
    ] = 5_000,
    json_output: JsonOption = False,
) -> None:
    """Import the product catalogue from a CSV, XLSX or Parquet file (one row per SKU; columns
    in docs/import.md): names per language, category, price, launch date, active. Each row is
    idempotent by sku: the same row again is unchanged, a different row replaces the product.
    --dry-run checks the whole file and prints what would happen without writing. A file with
    a bad row loads nothing unless --skip-bad. Every refused row is reported with its row
    number, column and reason; the exit code is 1 when a row was refused, 2 when the file
    cannot be read."""
    from patron.products.importer import read_products

    started = time.perf_counter()
    try:
        rows = read_products(file)
    except ImportFileError as error:
        typer.echo(f"error: {error.code}: {error.message}", err=True)
        raise typer.Exit(2) from error
    options: dict[str, Any] = {
        "program_key": key,
        "dry_run": dry_run,
        "skip_bad": skip_bad,
        "batch_size": batch_size,
    }
    report = run(_import_products(db, rows, options, Console(stderr=True)))
    report.seconds = time.perf_counter() - started
    if json_output:
        print_json(report.to_dict())
    else:
        _print_members_report(report)
        _print_errors(report)
    if not report.is_clean:
        raise typer.Exit(1)
