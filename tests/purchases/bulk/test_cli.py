"""``patron import purchases`` from the command line (its own SQLite file, built by the
migrations as the command would build it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.migrations import upgrade_schema
from tests.purchases.bulk.factories import HEADER, apply, enrol
from tests.purchases.bulk.test_import import row


async def _prepare(path: Path) -> int:
    database = Database(str(path))
    try:
        await upgrade_schema(database.url)
        members = await enrol(database, await apply(database, "default"), ["c-1"])
    finally:
        await database.dispose()
    return members["c-1"]


async def _balance(path: Path, member_id: int) -> tuple[int, int]:
    database = Database(str(path))
    try:
        async with database.read() as session:
            balance = await ledger_service.balance(session, member_id=member_id, now=utcnow())
            return balance.pending, balance.lifetime_earned
    finally:
        await database.dispose()


def _file(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in [HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_import_prints_a_json_summary_and_exits_0(tmp_path: Path) -> None:
    database = tmp_path / "p.db"
    member_id = asyncio.run(_prepare(database))
    rows = [row("o-1", at="2026-12-01T10:00:00Z"), row("o-2", member="", at="2026-12-02T10:00:00Z")]
    result = CliRunner().invoke(
        app,
        [
            "import",
            "purchases",
            str(_file(tmp_path / "p.csv", rows)),
            "--db",
            str(database),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {
        key: summary[key]
        for key in ("rows", "purchases_loaded", "rows_refused", "points_issued", "errors")
    } == {
        "rows": 2,
        "purchases_loaded": 2,
        "rows_refused": 0,
        "points_issued": 120,
        "errors": [],
    }
    assert summary["seconds"] > 0
    assert asyncio.run(_balance(database, member_id))[1] == 120


def test_refused_rows_are_listed_on_stderr_and_exit_1(tmp_path: Path) -> None:
    database = tmp_path / "p.db"
    asyncio.run(_prepare(database))
    at = "2026-12-01T10:00:00Z"  # before the clock (this command takes the clock as now)
    rows = [
        row("o-1", at=at),
        row("o-2", member="nobody", at=at),
        row("o-3", price="1.001", total="1.00", at=at),
    ]
    result = CliRunner().invoke(
        app,
        [
            "import",
            "purchases",
            str(_file(tmp_path / "p.csv", rows)),
            "--db",
            str(database),
            "--skip-bad",
        ],
    )
    assert result.exit_code == 1
    assert (
        "row 2, member_external_id: unknown_member: no member with external_id 'nobody'"
        in result.stderr
    )
    assert (
        "row 3, unit_price: invalid_amount: '1.001' has more than 2 decimal places for RUB"
        in result.stderr
    )
    assert "rows:               3 (2 refused)" in result.stdout
    assert "  loaded:           1 (0 through the per-event path)" in result.stdout


def test_a_file_that_cannot_be_read_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["import", "purchases", str(tmp_path / "missing.csv"), "--db", str(tmp_path / "p.db")]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: import_file_invalid: missing.csv: cannot be read")


def test_a_spreadsheet_export_in_a_local_format_is_told_how_to_save_it(tmp_path: Path) -> None:
    """Excel in Russian or Polish writes "CSV" with semicolons and in the Windows code page:
    the refusal says what the file looks like and how to save one Patron reads."""
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text("external_id;member_external_id;occurred_at\no-1;m-1;2026-12-01\n")
    legacy = tmp_path / "legacy.csv"
    legacy.write_bytes("external_id,sku\no-1,Кофе\n".encode("cp1251"))
    database = str(tmp_path / "p.db")
    for kind in ("purchases", "members", "products"):
        separated = CliRunner().invoke(app, ["import", kind, str(semicolons), "--db", database])
        assert separated.exit_code == 2, separated.output
        assert "separated by semicolons (;)" in separated.stderr
        assert "CSV UTF-8 (comma delimited)" in separated.stderr
        encoded = CliRunner().invoke(app, ["import", kind, str(legacy), "--db", database])
        assert encoded.exit_code == 2, encoded.output
        assert "is not UTF-8 text" in encoded.stderr
        assert "CSV UTF-8 (comma delimited)" in encoded.stderr
