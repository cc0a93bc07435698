"""The CLI end to end on a SQLite file: keys, program, jobs, verify (exit codes and output)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patron.cli.main import app
from tests.conftest import SEED_PROGRAM

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


def test_program_validate_seed_ok_and_invalid_lists_every_error(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["program", "validate", str(SEED_PROGRAM)])
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SEED_PROGRAM.read_text()
        .replace("multiply_lines: 2", "multiply_lines: 0")
        .replace("bonus_points: 500", "bonus_points: -5")
    )
    result = runner.invoke(app, ["program", "validate", str(bad)])
    assert result.exit_code == 2
    assert "earning.rules[0].effect.multiply_lines: must be greater than 0" in result.output
    assert "earning.rules[1].effect.bonus_points: must be greater than 0" in result.output
    as_json = runner.invoke(app, ["program", "validate", str(bad), "--json"])
    assert as_json.exit_code == 2
    paths = [error["path"] for error in json.loads(as_json.stdout)["errors"]]
    assert paths == [
        "earning.rules[0].effect.multiply_lines",
        "earning.rules[1].effect.bonus_points",
    ]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["program", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2


def test_apply_show_and_diff(db: str, tmp_path: Path) -> None:
    first = runner.invoke(app, ["program", "apply", str(SEED_PROGRAM), "--db", db])
    assert first.exit_code == 0, first.output
    assert "version 1" in first.output
    same = runner.invoke(app, ["program", "apply", str(SEED_PROGRAM), "--db", db])
    assert "unchanged" in same.output
    changed = tmp_path / "changed.yaml"
    changed.write_text(SEED_PROGRAM.read_text().replace("per_member: 4", "per_member: 5"))
    second = runner.invoke(app, ["program", "apply", str(changed), "--db", db])
    assert second.exit_code == 0
    assert "earning.rules[weekend-boost].limit.per_member: 4 -> 5" in second.output
    shown = runner.invoke(app, ["program", "show", "--db", db, "--json"])
    assert json.loads(shown.stdout)["version"] == 2


def test_keys_create_prints_key_last_and_list_hides_it(db: str) -> None:
    created = runner.invoke(
        app, ["keys", "create", "--role", "pos", "--name", "till-1", "--db", db]
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("ptr_")
    assert len(key) > 40
    listed = runner.invoke(app, ["keys", "list", "--db", db, "--json"])
    rows = json.loads(listed.stdout)
    assert [(row["name"], row["role"]) for row in rows] == [("till-1", "pos")]
    assert key not in listed.stdout
    bad = runner.invoke(app, ["keys", "create", "--role", "king", "--name", "x", "--db", db])
    assert bad.exit_code == 2


def test_jobs_run_twice_changes_nothing_and_verify_passes(db: str) -> None:
    runner.invoke(app, ["program", "apply", str(SEED_PROGRAM), "--db", db])
    first = runner.invoke(
        app, ["jobs", "run", "--db", db, "--now", "2026-12-01T00:00:00Z", "--json"]
    )
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["tier_reviews"]["default"]["ran"] is True
    second = runner.invoke(
        app, ["jobs", "run", "--db", db, "--now", "2026-12-01T00:00:00Z", "--json"]
    )
    report = json.loads(second.stdout)
    assert (report["lots_activated"], report["lots_expired"]) == (0, 0)
    assert report["tier_reviews"]["default"]["ran"] is False
    bad_time = runner.invoke(app, ["jobs", "run", "--db", db, "--now", "yesterday"])
    assert bad_time.exit_code == 2
    verified = runner.invoke(app, ["verify", "--db", db, "--json"])
    assert verified.exit_code == 0
    assert json.loads(verified.stdout) == {"ok": True, "breaches": []}
