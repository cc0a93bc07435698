"""The ``patron`` entry point imports only the module of the command being run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from patron.cli.main import COMMANDS, _command_name, app

PROBE = """
import sys
from patron.cli import main
sys.argv = ["patron", *sys.argv[1:]]
try:
    main.main()
except SystemExit as stop:
    code = stop.code
print("MODULES", " ".join(sorted(m for m in sys.modules if m in {MODULES})))
print("EXIT", code)
"""
HEAVY = (
    "scipy",
    "uvicorn",
    "patron.demo.replay",
    "patron.feedback.service",
    "alembic",
    "phonenumbers",
)


def _run(*arguments: str) -> tuple[set[str], str, str]:
    script = PROBE.replace("{MODULES}", repr(set(HEAVY)))
    done = subprocess.run(
        [sys.executable, "-c", script, *arguments], capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    loaded = next(line for line in lines if line.startswith("MODULES")).split()[1:]
    code = next(line for line in lines if line.startswith("EXIT")).split()[1]
    return set(loaded), code, done.stdout


def test_a_command_loads_only_its_own_module() -> None:
    loaded, code, output = _run("analytics", "kpis", "--help")
    assert code in {"0", "None"}
    assert "--by" in output
    assert loaded == set()


def test_the_purchases_import_does_not_load_the_members_import() -> None:
    loaded, code, output = _run("import", "purchases", "--help")
    assert code in {"0", "None"}
    assert "--skip-bad" in output
    assert "phonenumbers" not in loaded


def test_a_database_at_the_newest_migration_does_not_load_alembic(tmp_path: Path) -> None:
    path = tmp_path / "current.db"
    loaded, code, _output = _run("verify", "--db", str(path))
    assert code in {"0", "None"}
    assert "alembic" in loaded  # a new file: Alembic builds the schema
    # the second time the schema is current: one query says so
    loaded, code, _output = _run("verify", "--db", str(path))
    assert code in {"0", "None"}
    assert "alembic" not in loaded


def test_a_lone_command_still_needs_its_name() -> None:
    loaded, code, output = _run("verify", "--help")
    assert code in {"0", "None"}
    assert "Usage: patron verify" in output
    assert "uvicorn" not in loaded


def test_the_top_level_help_lists_every_command() -> None:
    _loaded, code, output = _run("--help")
    assert code in {"0", "None"}
    for name in COMMANDS:
        assert name in output


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [([], None), (["--help"], None), (["demo", "--reset"], "demo"), (["nope"], None)],
)
def test_command_name(arguments: list[str], expected: str | None) -> None:
    assert _command_name(arguments) == expected


def test_app_is_the_whole_tree() -> None:
    names = {group.name for group in app.registered_groups} | {
        command.name for command in app.registered_commands
    }
    assert names == set(COMMANDS)


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_backup_and_restore_load_no_heavy_module(command: str) -> None:
    loaded, code, output = _run(command, "--help")
    assert code in {"0", "None"}
    assert f"Usage: patron {command} [OPTIONS]" in output
    assert loaded == set()
