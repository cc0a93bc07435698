"""``patron jobs run`` and every ``patron analytics`` command finish on any small history.

Runs on the suite's database (SQLite, or PostgreSQL with ``PATRON_TEST_DATABASE_URL``): a
history is written through the real services, then the commands run through the real CLI.
``analytics clv`` is the one command that may refuse (exit 1, a Patron error on stderr) when
the models cannot be fitted; the others, ``jobs run`` included, exit 0.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import update
from typer.testing import CliRunner, Result

from patron.cli.main import app
from patron.kit.db import Database
from patron.programs.models import ProgramVersion
from tests.cli.histories import NOW, Customer, History, build_history, histories, visit
from tests.conftest import _empty_all_tables

runner = CliRunner()
ANALYTICS = ("clv", "kpis", "rfm", "report")  # every command `patron analytics --help` lists
CLV_REFUSALS = ("error: invalid_clv_input", "error: clv_fit_failed")


@pytest.fixture
def url(database_url_for_tests: str) -> Iterator[str]:
    """The suite's database, emptied after the test (the histories commit through the CLI)."""
    yield database_url_for_tests

    async def empty() -> None:
        database = Database(database_url_for_tests)
        try:
            await _empty_all_tables(database)
        finally:
            await database.dispose()

    asyncio.run(empty())


def invoke(arguments: list[str]) -> Result:
    result = runner.invoke(app, arguments)
    if not isinstance(result.exception, SystemExit | None):
        raise AssertionError(f"{arguments[:2]} crashed") from result.exception
    return result


def jobs_run(url: str) -> dict[str, object]:
    result = invoke(["jobs", "run", "--db", url, "--now", NOW.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def analytics(url: str, command: str, out: Path) -> Result:
    arguments = {
        "clv": ["--end", NOW.date().isoformat(), "--json"],
        "kpis": ["--json"],
        "rfm": ["--refresh", "--now", NOW.isoformat(), "--json"],
        "report": ["--out", str(out)],
    }[command]
    return invoke(["analytics", command, "--db", url, *arguments])


def check_analytics(url: str, out: Path) -> None:
    for command in ANALYTICS:
        result = analytics(url, command, out)
        if command == "clv" and result.exit_code == 1:
            assert result.output.startswith(CLV_REFUSALS), result.output
        else:
            assert result.exit_code == 0, (command, result.output)


def test_the_analytics_list_is_complete() -> None:
    names = [command.name for command in app.registered_groups if command.name == "analytics"]
    assert names == ["analytics"]
    group = next(g for g in app.registered_groups if g.name == "analytics")
    assert group.typer_instance is not None
    listed = {command.name for command in group.typer_instance.registered_commands}
    assert listed == set(ANALYTICS)


def segments_of(report: dict[str, object]) -> dict[str, object]:
    segments = report["segments"]
    assert isinstance(segments, dict)
    default: dict[str, object] = segments["default"]
    return default


def test_one_member_two_purchases_on_different_days(url: str, tmp_path: Path) -> None:
    """The history of the issue: today's main divides by zero in the BG/NBD likelihood."""
    history = History((Customer((visit(100, 10_000, hours_ago=21), visit(100, 500, hours_ago=5))),))
    build_history(url, history)
    report = jobs_run(url)
    assert report["failures"] == []
    segments = segments_of(report)
    assert (segments["members"], segments["clv_fitted"]) == (1, False)
    assert segments["clv_problem"] == "the model cannot be fitted: the likelihood has no maximum"
    clv = analytics(url, "clv", tmp_path / "r.html")
    assert clv.exit_code == 1
    assert clv.output.startswith("error: clv_fit_failed: the model cannot be fitted")
    check_analytics(url, tmp_path / "r.html")


def test_one_member_two_purchases_on_the_same_day(url: str, tmp_path: Path) -> None:
    history = History((Customer((visit(3, 10_000), visit(3, 500, hours_ago=5))),))
    build_history(url, history)
    segments = segments_of(jobs_run(url))
    assert (segments["members"], segments["clv_fitted"]) == (1, False)
    assert segments["clv_problem"] == "BG/NBD needs at least one repeat buyer"
    check_analytics(url, tmp_path / "r.html")


def test_no_purchases_at_all(url: str, tmp_path: Path) -> None:
    build_history(url, History((Customer(), Customer())))
    report = jobs_run(url)
    assert report["failures"] == []
    segments = segments_of(report)
    assert (segments["members"], segments["clv_fitted"]) == (0, False)
    assert segments["clv_problem"] == "no purchases"
    clv = analytics(url, "clv", tmp_path / "r.html")
    assert clv.exit_code == 1
    assert "error: invalid_clv_input (input): the purchase log is empty" in clv.output
    check_analytics(url, tmp_path / "r.html")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories)
def test_every_job_and_analytics_command_finishes(
    url: str, tmp_path: Path, history: History
) -> None:
    build_history(url, history)
    report = jobs_run(url)
    assert report["failures"] == []
    check_analytics(url, tmp_path / "report.html")


def corrupt_program(url: str) -> None:
    """Make the stored active program fail validation, as a document written by a newer
    Patron would after a downgrade (a new checksum: no parse cache can hide it)."""

    async def corrupt() -> None:
        database = Database(url)
        try:
            async with database.write() as session:
                await session.execute(
                    update(ProgramVersion).values(document={"broken": True}, checksum="corrupt")
                )
        finally:
            await database.dispose()

    asyncio.run(corrupt())


def test_a_failed_step_is_reported_and_the_others_still_run(url: str) -> None:
    """The program steps fail; activation of the due pending points (14 days after a purchase
    10 days before NOW, run 10 days after NOW) still runs and commits, and the command exits 3
    naming each failed step."""
    build_history(url, History((Customer((visit(10, 50_000),)),)))
    corrupt_program(url)
    later = (NOW + timedelta(days=10)).isoformat()
    result = invoke(["jobs", "run", "--db", url, "--now", later, "--json"])
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["lots_activated"] == 1
    assert (report["tier_reviews"], report["segments"]) == ({}, {})
    failed = [(f["step"], f["program"], f["error"].split(":")[0]) for f in report["failures"]]
    assert failed == [
        ("announce_expiring", "default", "ValidationError"),
        ("review_tiers", "default", "ValidationError"),
        ("refresh_segments", "default", "ValidationError"),
        ("date_campaigns", "default", "ValidationError"),
        ("schedule_campaigns", "default", "ValidationError"),
        ("budget_pacing", "default", "ValidationError"),
        ("referrals", "default", "ValidationError"),
        ("survey_invitations", None, "ValidationError"),
        ("analyse_feedback", None, "ValidationError"),
    ]
    assert report["ticket_breaches"] == {"first_response": 0, "resolution": 0}
    assert "step review_tiers (program 'default') failed: ValidationError" in result.stderr
    again = invoke(["jobs", "run", "--db", url, "--now", later])
    assert again.exit_code == 3
    assert "0 lots activated" in again.stdout  # the first run's activation was committed
