"""``patron import members`` from the command line on its own SQLite file: the customer file
through ``--dry-run``, ``--skip-bad`` and a second run, then ``patron verify``; XLSX too."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from patron.kit.db import Database
from patron.migrations import upgrade_schema
from tests.onboarding.factories import customers, write_csv
from tests.purchases.bulk.factories import apply


async def _prepare(path: Path) -> None:
    database = Database(str(path))
    try:
        await upgrade_schema(database.url)
        await apply(database, "default")
    finally:
        await database.dispose()


def _import(*arguments: str) -> tuple[int, dict[str, object]]:
    from patron.cli.main import app

    result = CliRunner().invoke(app, ["import", "members", *arguments, "--json"])
    return result.exit_code, json.loads(result.stdout)


def _summary(report: dict[str, object]) -> tuple[object, ...]:
    return tuple(report[key] for key in ("new", "unchanged", "updated", "refused"))


def test_dry_run_then_skip_bad_then_nothing_new(tmp_path: Path) -> None:
    from patron.cli.main import app

    database = tmp_path / "shop.db"
    asyncio.run(_prepare(database))
    path = write_csv(tmp_path / "customers.csv", customers())
    common = [str(path), "--db", str(database), "--attributes", "city", "--phone-region", "PL"]

    code, report = _import(*common, "--dry-run")
    assert code == 1
    assert _summary(report) == (997, 0, 0, 3)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [  # type: ignore[attr-defined]
        (17, "email"),
        (450, "tier"),
        (998, "phone"),
    ]
    code, report = _import(*common, "--dry-run")
    assert _summary(report) == (997, 0, 0, 3)  # the dry run wrote nothing

    code, report = _import(*common, "--skip-bad")
    assert (code, _summary(report)) == (1, (997, 0, 0, 3))
    verified = CliRunner().invoke(app, ["verify", "--db", str(database), "--json"])
    assert verified.exit_code == 0, verified.output

    code, report = _import(*common, "--skip-bad")
    assert (code, _summary(report)) == (1, (0, 997, 0, 3))


def test_an_xlsx_file_and_a_clean_run_exit_0(tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    asyncio.run(_prepare(database))
    rows = customers(10)
    for row in rows:
        del row["city"]
    path = tmp_path / "customers.xlsx"
    pl.DataFrame(rows).write_excel(path)
    code, report = _import(str(path), "--db", str(database), "--phone-region", "PL")
    assert (code, _summary(report), report["errors"]) == (0, (10, 0, 0, 0), [])


def test_an_unknown_column_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    from patron.cli.main import app

    path = write_csv(tmp_path / "customers.csv", customers(3))
    result = CliRunner().invoke(
        app, ["import", "members", str(path), "--db", str(tmp_path / "x.db")]
    )
    assert result.exit_code == 2
    assert "unknown column(s) city" in result.stderr
