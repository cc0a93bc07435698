"""``patron analytics clv`` on the CDNOW data sets (the published estimates) and on a log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patron.cli.main import app
from tests.conftest import CDNOW_DATA

runner = CliRunner()


def test_summary_file_reproduces_published_bgnbd() -> None:
    result = runner.invoke(
        app,
        [
            "analytics",
            "clv",
            "--summary",
            str(CDNOW_DATA / "cdnow_customers_summary.csv"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    fitted = document["bgnbd"]
    assert round(fitted["r"], 3) == 0.243
    assert round(fitted["alpha"], 3) == 4.414
    assert round(fitted["a"], 3) == 0.793
    assert round(fitted["b"], 3) == 2.426
    assert round(fitted["log_likelihood"], 1) == -9582.4
    assert "gamma_gamma" not in document
    assert len(document["customers"]) == 2357
    assert document["customers"][0]["clv"] is None


def test_summary_with_spend_gives_gamma_gamma_and_clv(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    path = CDNOW_DATA / "cdnow_customers_summary_with_transactions.csv"
    result = runner.invoke(app, ["analytics", "clv", "--summary", str(path), "--horizon", "39",
                                 "--out", str(out), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    spend = document["gamma_gamma"]
    assert (round(spend["p"], 2), round(spend["q"], 2)) == (6.25, 3.74)
    assert spend["gamma"] == pytest.approx(15.44, abs=0.008)
    assert all(c["clv"] is not None and c["clv"] >= 0 for c in document["customers"])
    assert out.read_text().splitlines()[0] == "id,p_alive,expected_purchases,clv,at_risk"


def test_purchase_log_in_days(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    rows = ["customer_id,purchased_at,amount"]
    for customer in range(1, 61):
        for visit in range(customer % 5 + 1):
            month = 1 + (customer + 3 * visit) % 12
            rows.append(f"{customer},2025-{month:02d}-{1 + visit:02d},{10 + customer % 7}.50")
    log.write_text("\n".join(rows) + "\n")
    result = runner.invoke(app, ["analytics", "clv", "--input", str(log), "--end", "2025-12-31",
                                 "--horizon", "30", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    customers = json.loads(result.stdout)["customers"]
    assert [c["id"] for c in customers] == list(range(1, 61))
    assert all(0.0 <= c["p_alive"] <= 1.0 for c in customers)


def test_bad_log_is_a_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "bad.csv"
    log.write_text("who,when\n1,2025-01-01\n")
    result = runner.invoke(app, ["analytics", "clv", "--input", str(log)])
    assert result.exit_code == 1
    assert "lacks columns" in result.output
