"""``patron import``: load data from files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

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

app = typer.Typer(help="Load data from CSV or Parquet files.", no_args_is_help=True)

MAX_ERRORS_SHOWN = 1000


async def _import(
    db: str | None,
    rows: pl.DataFrame,
    key: str,
    batch_size: int,
    skip_bad: bool,
    console: Console,
) -> ImportReport:
    from patron.migrations import upgrade_schema

    database = Database(db)
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        await upgrade_schema(database.url)
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("import", total=rows.height)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await import_rows(
                database,
                rows,
                program_key=key,
                batch_size=batch_size,
                skip_bad=skip_bad,
                progress=advance,
            )
    finally:
        await database.dispose()


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


def _print_errors(report: ImportReport) -> None:
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
            help="A .csv or .parquet file, one row per purchase line.", show_default=False
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
    """Import purchases from a CSV or Parquet file (one row per purchase line; columns in
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
