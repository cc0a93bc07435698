"""``patron feedback classify``: one result per input line, in order, with the JSON contract."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from patron.cli.main import app

runner = CliRunner()


def test_classify_file_json(tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text(
        "Курьер опоздал на два часа, еда холодная, больше не закажу\n"
        "Świetna kawa i bardzo miła obsługa, polecam!\n"
        "Please add oat milk to the menu\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["feedback", "classify", str(texts), "--mode", "fast", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    assert [row["language"] for row in rows] == ["ru", "pl", "en"]
    assert [row["label"] for row in rows] == ["negative", "positive", "suggestion"]
    for row in rows:
        assert set(row) >= {"language", "label", "probability", "keywords", "topic"}
        assert 0.0 <= row["probability"] <= 1.0


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["feedback", "classify", str(tmp_path / "none.txt")])
    assert result.exit_code == 2
