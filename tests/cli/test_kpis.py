"""``patron analytics kpis`` on a store built through the real services."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from patron.analytics.kpis.html import plotly_js
from patron.cli.main import app
from patron.kit.db import Database
from patron.migrations import upgrade_schema
from tests.analytics.kpis.dbstore import build_store

runner = CliRunner()


def store(tmp_path: Path) -> str:
    path = str(tmp_path / "kpis.db")

    async def build() -> None:
        database = Database(path)
        await upgrade_schema(database.url)
        await build_store(database)
        await database.dispose()

    asyncio.run(build())
    return path


def test_json_output(tmp_path: Path) -> None:
    db = store(tmp_path)
    arguments = ["analytics", "kpis", "--db", db, "--from", "2026-01-01", "--to", "2026-03-31"]
    result = runner.invoke(app, [*arguments, "--margin-rate", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["program"]["points"]["liability"] == 17857
    assert report["program"]["return_on_investment"]["roi"] == 11.0
    assert report["program"]["currency"] == "RUB"


def test_table_output_and_settings_from_the_environment(tmp_path: Path) -> None:
    db = store(tmp_path)
    result = runner.invoke(
        app,
        [
            "analytics",
            "kpis",
            "--db",
            db,
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--by",
            "tier",
        ],
        env={"PATRON_POINT_VALUE": "100", "PATRON_EXPECTED_REDEMPTION": "1", "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    # 500 outstanding × 100 kopecks × 1.0 = 500.00 RUB; reward cost 100 × 100 = 100.00 RUB.
    assert "liability (RUB)" in result.stdout
    assert "500.00" in result.stdout
    assert "100.00 (settings)" in result.stdout
    assert "By tier" in result.stdout
    assert "Retention per period" in result.stdout


def test_bad_day_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["analytics", "kpis", "--db", str(tmp_path / "x.db"), "--from", "2026-13-01"]
    )
    assert result.exit_code == 2


def test_window_error_exits_1(tmp_path: Path) -> None:
    db = store(tmp_path)
    result = runner.invoke(
        app, ["analytics", "kpis", "--db", db, "--from", "2026-03-01", "--to", "2026-01-01"]
    )
    assert result.exit_code == 1
    assert "invalid_window" in result.stderr


def test_html_report_is_self_contained(tmp_path: Path) -> None:
    db = store(tmp_path)
    out = tmp_path / "report.html"
    arguments = ["--from", "2026-01-01", "--to", "2026-03-31", "--by", "tier"]
    result = runner.invoke(app, ["analytics", "report", "--db", db, "--out", str(out), *arguments])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.count('Plotly.newPlot("chart-') == 4  # trends, cohorts, members, tiers
    assert "Cohort retention by month of first purchase" in page
    assert "Members versus non-members" in page
    assert "Net sales and member retention per period" in page
    assert page.count("plotly.js v") == 1  # the library, inlined once
    assert not re.search(r"<script[^>]+src=", page)
    assert "http" not in page.replace(plotly_js(), "")  # the library's own strings aside
    assert "<th>liability</th><td>178.57 RUB</td>" in page  # 17857 kopecks
