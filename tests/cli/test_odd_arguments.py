"""Odd arguments get a message and a non-zero exit, never a traceback.

Found by running every command with odd values for each argument (a number past 64 bits, a
file that is not UTF-8 text, a file name longer than the system allows): each of these ended
in a Python traceback (``OverflowError`` from the driver, ``UnicodeDecodeError``,
``OSError``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from patron.cli.main import app
from tests.conftest import SEED_PROGRAM

runner = CliRunner()
HUGE = "99999999999999999999999"  # past a 64-bit id


def _no_traceback(result: Result) -> Result:
    if not isinstance(result.exception, SystemExit | None):
        raise AssertionError("the command crashed") from result.exception
    return result


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "cli.db")
    applied = runner.invoke(app, ["program", "apply", str(SEED_PROGRAM), "--db", path])
    assert applied.exit_code == 0, applied.output
    return path


@pytest.mark.parametrize(
    "arguments",
    [
        ["audit", "--after", HUGE],
        ["messages", "list", "--after", HUGE],
        ["messages", "list", "--member", HUGE],
        ["keys", "revoke", HUGE],
        ["members", "show", HUGE],
        ["members", "export", HUGE],
        ["members", "erase", HUGE],
        ["tickets", "show", HUGE],
        ["wallet", "adjust", HUGE, "5.00", "--reason", "r"],
        ["portal", "link", HUGE],
        ["referrals", "approve", HUGE],
        ["referrals", "list", "--member", HUGE],
        ["events", "dead", "--event", HUGE],
        ["events", "retry", "--run", HUGE],
        ["webhooks", "remove", HUGE],
        ["webhooks", "deliveries", HUGE],
        ["webhooks", "redeliver", "1", HUGE],
        ["program", "show", "--version", HUGE],
    ],
)
def test_an_id_past_64_bits_is_refused_by_its_bound(db: str, arguments: list[str]) -> None:
    result = _no_traceback(runner.invoke(app, [*arguments, "--db", db]))
    assert result.exit_code == 2, result.output
    assert "less than or equal to" in result.output


@pytest.mark.parametrize("user", [HUGE, "²", "\u0661"])
def test_a_user_named_by_an_odd_number_is_not_found(db: str, user: str) -> None:
    result = _no_traceback(runner.invoke(app, ["users", "disable", user, "--db", db]))
    assert result.exit_code == 1
    assert "user_not_found" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["program", "validate"],
        ["program", "apply"],
        ["simulate", "--program"],
        ["feedback", "classify"],
    ],
)
def test_a_file_that_is_not_utf8_text_is_refused(
    db: str, tmp_path: Path, command: list[str]
) -> None:
    binary = tmp_path / "program.yaml"
    binary.write_bytes(b"program:\n  key: default\n  name: \xaa\xbb\n")
    arguments = [*command, str(binary)]
    if command != ["program", "validate"] and command != ["feedback", "classify"]:
        arguments += ["--db", db]
    result = _no_traceback(runner.invoke(app, arguments))
    assert result.exit_code == 2, result.output
    assert "is not UTF-8 text (byte 0xaa at offset 32)" in result.output


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_a_file_name_the_system_refuses_is_a_message(db: str, command: str) -> None:
    result = _no_traceback(runner.invoke(app, [command, "x" * 300, "--db", db]))
    assert result.exit_code == 1
    assert "File name too long" in result.output


CDNOW_SUMMARY = Path(__file__).parents[1] / "data" / "cdnow" / "cdnow_customers_summary.csv"


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--input", "/nonexistent/log.csv"], "is not a file"),
        (["--input", "."], "is not a file"),
        (["--input", "x" * 300], "File name too long"),
        (["--input", "BINARY"], "invalid utf-8"),
        (["--summary", "BINARY"], "invalid utf-8"),
        (["--input", "BINARY", "--end", "2026-13-45"], "not a day YYYY-MM-DD"),
    ],
)
def test_clv_files_and_days_that_cannot_be_read(
    tmp_path: Path, arguments: list[str], said: str
) -> None:
    binary = tmp_path / "log.csv"
    binary.write_bytes(b"customer_id,purchased_at\n\xaa\xbb,2026-01-01\n")
    given = [str(binary) if argument == "BINARY" else argument for argument in arguments]
    result = _no_traceback(runner.invoke(app, ["analytics", "clv", *given]))
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--horizon", "nan"),
        ("--horizon", "inf"),
        ("--horizon", HUGE),  # summed month by month: ran for ever
        ("--discount-rate", "nan"),
    ],
)
def test_clv_numbers_that_are_no_number(option: str, value: str) -> None:
    arguments = ["analytics", "clv", "--summary", str(CDNOW_SUMMARY), option, value]
    result = _no_traceback(runner.invoke(app, arguments))
    assert result.exit_code == 1, result.output
    assert "invalid_clv_input" in result.output


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--point-value", "nan"),
        ("--point-value", "inf"),
        ("--margin-rate", "2"),
        ("--expected-redemption", "-0.5"),
        ("--operating-cost", HUGE),
    ],
)
def test_kpi_settings_outside_the_api_bounds(db: str, option: str, value: str) -> None:
    result = _no_traceback(runner.invoke(app, ["analytics", "kpis", option, value, "--db", db]))
    assert result.exit_code == 2, result.output
    assert option in result.output


@pytest.mark.parametrize("out", [".", "/nonexistent/report.html", "x" * 300])
def test_a_report_that_cannot_be_written_is_a_message(db: str, out: str) -> None:
    result = _no_traceback(runner.invoke(app, ["analytics", "report", "--out", out, "--db", db]))
    assert result.exit_code == 2, result.output
    assert f"cannot write {out}" in result.output
