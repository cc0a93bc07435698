"""``patron simulate`` from the command line: the JSON document, the summary, exit codes, and
the ``--db`` path on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.ledger.models import LedgerEntry
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.models import Purchase
from patron.rewards.redeem import redeem
from tests.conftest import SEED_PROGRAM
from tests.purchases.bulk.factories import FilePurchase, apply, enrol
from tests.simulator.factories import monthly_history, monthly_program, seed_history
from tests.simulator.test_service import FEBRUARY_BUDGET

runner = CliRunner()
TOP = {"source", "assumptions", "proposed", "baseline", "difference", "errors", "seconds"}
RUN = {"name", "currency", "value_per_point", "rewards", "totals", "tiers", "months",
       "scoring_rounds", "campaigns", "campaigns_not_projected"}  # fmt: skip
MONTH = {"month", "end", "points_issued", "points_expired", "points_pending", "points_available",
         "points_outstanding", "expected_redemption_cost", "liability", "tiers",
         "points_from_campaigns", "points_from_other_triggers"}  # fmt: skip


def _program(tmp_path: Path, text: str, name: str = "program.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_history_json_document(tmp_path: Path) -> None:
    history = seed_history(tmp_path / "h.csv")
    result = runner.invoke(
        app, ["simulate", "--program", str(SEED_PROGRAM), "--history", str(history), "--json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == TOP
    assert document["source"] == {
        "kind": "history",
        "name": str(history),
        "purchases": 5,
        "refused_purchases": 0,
        "first_purchase_at": "2026-12-01T10:00:00+00:00",
        "last_purchase_at": "2028-01-10T10:00:00+00:00",
    }
    assert document["assumptions"] == {
        "redemption_rate": "0.7000",
        "redemption_rate_source": "default",
        "tier_reviews": "month_end",
    }
    proposed = document["proposed"]
    assert set(proposed) == RUN
    assert set(proposed["months"][0]) == MONTH
    assert proposed["tiers"] == ["none", "bronze", "silver", "gold"]
    assert proposed["totals"]["points_issued"] == 12_942
    assert proposed["months"][0]["end"] == "2026-12-31T21:00:00+00:00"
    assert (document["baseline"], document["difference"], document["errors"]) == (None, None, [])


def test_history_with_a_baseline_and_the_summary(tmp_path: Path) -> None:
    history = monthly_history(tmp_path / "h.csv")
    proposed = _program(tmp_path, monthly_program(bonus=20))
    baseline = _program(tmp_path, monthly_program(), "baseline.yaml")
    arguments = ["simulate", "--program", str(proposed), "--history", str(history),
                 "--baseline", str(baseline), "--redemption-rate", "0.5"]  # fmt: skip
    result = runner.invoke(app, [*arguments, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["baseline"]["source"] == str(baseline)
    assert document["difference"]["totals"]["points_issued"] == 40
    assert document["difference"]["totals"]["expected_redemption_cost"] == 200  # 40 / 2 x 10
    text = runner.invoke(app, arguments)
    assert text.exit_code == 0, text.output
    assert "Totals" in text.stdout
    assert "2026-03" in text.stdout
    assert "difference" in text.stdout


def test_the_campaigns_table_and_the_campaigns_not_projected(tmp_path: Path) -> None:
    history = monthly_history(tmp_path / "h.csv")
    proposed = _program(tmp_path, monthly_program() + FEBRUARY_BUDGET + """  - key: birthday
    name: {en: Birthday}
    trigger: birthday
    window: {start: "2026-01-01", end: "2026-12-31"}
    effect: {bonus_points: 50}
""")  # fmt: skip
    text = runner.invoke(app, ["simulate", "--program", str(proposed), "--history", str(history)])
    assert text.exit_code == 0, text.output
    assert "Campaigns: Monthly" in text.stdout
    row = next(line for line in text.stdout.splitlines() if "feb-budget" in line)
    # 1 application, 1 member, 15 points, 5 of 20 left, refused on Mar 5
    cells = [cell.strip() for cell in row.strip().strip("│┃").split("│")]
    assert cells[:6] == ["feb-budget", "1", "1", "15", "5", "2026-03-05"], cells
    assert "of which by campaigns" in text.stdout
    assert "not projected: birthday (birthday): trigger birthday" in text.stdout


def test_bad_program_exits_2_with_every_problem(tmp_path: Path) -> None:
    bad = (
        SEED_PROGRAM.read_text()
        .replace("points: 100\n    per_amount", "points: -5\n    per_amount")
        .replace("cost_points: 1000", "cost_points: many")
    )
    path = _program(tmp_path, bad)
    history = seed_history(tmp_path / "h.csv")
    result = runner.invoke(app, ["simulate", "--program", str(path), "--history", str(history)])
    assert result.exit_code == 2
    assert "earning.base.points" in result.stderr
    assert "rewards[2].cost_points" in result.stderr
    result = runner.invoke(
        app, ["simulate", "--program", str(path), "--history", str(history), "--json"]
    )
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert [e["path"] for e in document["errors"]] == [
        "earning.base.points",
        "rewards[2].cost_points",
    ]


def test_bad_options_and_files_exit_2(tmp_path: Path) -> None:
    history = seed_history(tmp_path / "h.csv")
    program = str(SEED_PROGRAM)
    cases = [
        ["--history", str(history), "--db", str(tmp_path / "x.db")],
        ["--db", str(tmp_path / "x.db"), "--baseline", program],
        ["--history", str(history), "--redemption-rate", "1.5"],
        ["--history", str(history), "--redemption-rate", "lots"],
        ["--history", str(tmp_path / "h.txt")],
        ["--history", str(history), "--baseline", str(tmp_path / "missing.yaml")],
    ]
    for extra in cases:
        result = runner.invoke(app, ["simulate", "--program", program, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert "error" in result.stderr


def test_a_database_without_patron_tables_exits_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    result = runner.invoke(app, ["simulate", "--program", str(SEED_PROGRAM), "--db", str(empty)])
    assert result.exit_code == 1
    assert "cannot read the database" in result.stderr
    missing = tmp_path / "missing.db"
    result = runner.invoke(app, ["simulate", "--program", str(SEED_PROGRAM), "--db", str(missing)])
    assert result.exit_code == 1
    assert f"no file {missing}" in result.stderr
    assert not missing.exists()


async def _record(database: Database, purchase: FilePurchase) -> None:
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="default")
        await record_purchase(
            session, active=active, data=purchase.create("RUB"), now=purchase.occurred_at
        )


async def _counts(database: Database) -> tuple[int, int]:
    async with database.read() as session:
        purchases = (await session.execute(select(func.count()).select_from(Purchase))).scalar()
        entries = (await session.execute(select(func.count()).select_from(LedgerEntry))).scalar()
    return int(purchases or 0), int(entries or 0)


async def test_database_path_compares_with_the_active_program(
    database: Database, database_url_for_tests: str
) -> None:
    program_id = await apply(database, "default")
    members = await enrol(database, program_id, ["c-1", "c-2"])
    december = datetime(2026, 12, 1, 10, tzinfo=UTC)
    beans = [("beans-1", "beans", 1, "120000.00")]
    cake = [("cof-1", "coffee", 1, "500.00"), ("tea-2", "tea", 1, "700.00"),
            ("cake", "pastry", 2, "250.00")]  # fmt: skip
    await _record(
        database, FilePurchase("o-1", "c-1", december, "120000.00", None, None, None, beans)
    )
    await _record(database, FilePurchase("o-3", "c-2", december.replace(day=18), "1700.00", None,
                                         None, None, cake))  # fmt: skip
    async with database.write() as session:
        active = await program_service.get_active_program(session, key="default")
        await redeem(session, active=active, member_id=members["c-1"], reward_code="GIFT500",
                     now=datetime(2026, 12, 20, tzinfo=UTC))  # fmt: skip
    before = await _counts(database)

    arguments = ["simulate", "--program", str(SEED_PROGRAM), "--db", database_url_for_tests,
                 "--json"]  # fmt: skip
    result = await asyncio.to_thread(runner.invoke, app, arguments)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["source"]["kind"] == "database"
    assert document["source"]["purchases"] == 2
    # 1,000 points redeemed of 12,500 + 220 earned
    assert document["assumptions"]["redemption_rate"] == "0.0786"
    assert document["assumptions"]["redemption_rate_source"] == "database"
    proposed = document["proposed"]
    assert proposed["totals"]["points_issued"] == 12_720
    gift = [r for r in proposed["rewards"] if r["code"] == "GIFT500"]
    assert gift[0]["weight"] == "1.0000"  # the only reward redeemed so far
    assert proposed["value_per_point"] == "50.0000"
    assert document["baseline"]["source"] == "active program 'default' version 1"
    assert set(document["difference"]["totals"].values()) == {0}
    assert await _counts(database) == before
