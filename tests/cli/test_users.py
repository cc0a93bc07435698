"""``patron users``: create (prompt or --password-stdin), list, disable, enable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patron.cli.main import app

runner = CliRunner()
STDIN = ["--password-stdin"]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "users.db")


def _listed(db: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["users", "list", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_create_from_stdin_list_disable_and_enable(db: str) -> None:
    created = runner.invoke(
        app,
        ["users", "create", "--email", "Boss@Shop.example", "--role", "admin", "--db", db, *STDIN],
        input="a long passphrase\n",
    )
    assert created.exit_code == 0, created.output
    assert "created admin user boss@shop.example" in created.output
    [row] = _listed(db)
    assert row["email"] == "boss@shop.example"
    assert row["role"] == "admin"
    assert row["disabled_at"] is None
    assert "passphrase" not in json.dumps(row)
    disabled = runner.invoke(app, ["users", "disable", "boss@shop.example", "--db", db])
    assert disabled.exit_code == 0, disabled.output
    assert _listed(db)[0]["disabled_at"] is not None
    plain = runner.invoke(app, ["users", "list", "--db", db])
    assert "disabled" in plain.output
    enabled = runner.invoke(app, ["users", "enable", str(row["id"]), "--db", db])
    assert enabled.exit_code == 0, enabled.output
    assert _listed(db)[0]["disabled_at"] is None


def test_create_asks_for_the_password_twice(db: str) -> None:
    result = runner.invoke(
        app,
        ["users", "create", "--email", "desk@shop.example", "--role", "staff", "--db", db],
        input="desk password 1\ndesk password 1\n",
    )
    assert result.exit_code == 0, result.output
    assert [row["role"] for row in _listed(db)] == ["staff"]


@pytest.mark.parametrize(
    ("arguments", "stdin", "message"),
    [
        (["--email", "a@shop.example", "--role", "admin"], "short\n", "at least 10 characters"),
        (["--email", "nope", "--role", "admin"], "long enough pw\n", "not an email address"),
        (["--email", "a@shop.example", "--role", "pos"], "long enough pw\n", "'pos'"),
    ],
)
def test_bad_input_exits_non_zero_and_creates_nothing(
    db: str, arguments: list[str], stdin: str, message: str
) -> None:
    result = runner.invoke(
        app, ["users", "create", *arguments, "--password-stdin", "--db", db], input=stdin
    )
    assert result.exit_code != 0
    assert message in result.output
    assert _listed(db) == []


def test_a_taken_email_and_an_unknown_user_are_refused(db: str) -> None:
    command = ["users", "create", "--email", "a@shop.example", "--role", "staff"]
    first = runner.invoke(app, [*command, "--password-stdin", "--db", db], input="long enough pw\n")
    assert first.exit_code == 0
    again = runner.invoke(app, [*command, "--password-stdin", "--db", db], input="another pw 12\n")
    assert again.exit_code == 1
    assert "exists" in again.output
    unknown = runner.invoke(app, ["users", "disable", "ghost@shop.example", "--db", db])
    assert unknown.exit_code == 1
    assert "no user" in unknown.output
