"""``patron analytics rfm`` and the segments part of ``patron jobs run`` on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.migrations import upgrade_schema
from tests.segments.factories import NOW, build_store

runner = CliRunner()
# hand-computed in tests/segments/factories.py: (R, F) -> members
CELLS = {(5, 5): 1, (5, 1): 1, (4, 4): 2, (3, 5): 1, (3, 3): 1, (2, 3): 1, (2, 1): 1,
         (1, 4): 1, (1, 1): 1}  # fmt: skip
SIZES = {"hibernating": 2, "at_risk": 2, "cant_lose": 0, "about_to_sleep": 0,
         "need_attention": 1, "loyal": 3, "promising": 0, "new": 1, "potential_loyalist": 0,
         "champion": 1}  # fmt: skip


def store(path: Path) -> str:
    async def build() -> None:
        database = Database(str(path))
        try:
            await upgrade_schema(database.url)
            await build_store(database)
        finally:
            await database.dispose()

    asyncio.run(build())
    return str(path)


def test_jobs_run_stores_segments_and_rfm_reads_them(tmp_path: Path) -> None:
    db = store(tmp_path / "rfm.db")
    jobs = runner.invoke(app, ["jobs", "run", "--db", db, "--now", NOW.isoformat(), "--json"])
    assert jobs.exit_code == 0, jobs.output
    segments = json.loads(jobs.stdout)["segments"]["default"]
    assert (segments["members"], segments["at_risk"], segments["clv_fitted"]) == (10, 0, True)
    text = runner.invoke(app, ["jobs", "run", "--db", db, "--now", NOW.isoformat()])
    assert "program 'default': segments refreshed for 10 members, 0 at risk" in text.output

    result = runner.invoke(app, ["analytics", "rfm", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    overview = json.loads(result.stdout)
    assert overview["computed_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert overview["members"] == 10
    assert {s["segment"]: s["members"] for s in overview["segments"]} == SIZES
    assert [s["segment"] for s in overview["segments"]] == list(SIZES)
    cells = {(c["recency_score"], c["frequency_score"]): c["members"] for c in overview["grid"]}
    assert cells == {(r, f): CELLS.get((r, f), 0) for r in range(1, 6) for f in range(1, 6)}
    groups = {g["group"]: g["members"] for g in overview["groups"]}
    assert groups == {"high_value": 2, "regular": 3, "category_lover": 8, "at_risk": 0}


def test_rfm_computes_when_nothing_is_stored_and_prints_the_grid(tmp_path: Path) -> None:
    db = store(tmp_path / "fresh.db")
    result = runner.invoke(app, ["analytics", "rfm", "--db", db, "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"RFM of program 'default': 10 members, computed {NOW.isoformat()}"
    assert lines[1] == "          F1    F2    F3    F4    F5"
    assert lines[2] == "R5         1     0     0     0     1"
    assert lines[3] == "R4         0     0     0     2     0"
    assert lines[6] == "R1         1     0     0     1     0"
    assert "loyal                    3" in lines
    assert lines[-1] == "high_value 2, regular 3, category_lover 8, at_risk 0"
    later = "2026-06-02T08:00:00+00:00"
    again = runner.invoke(app, ["analytics", "rfm", "--db", db, "--refresh", "--now", later,
                                "--json"])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["computed_at"] == "2026-06-02T08:00:00Z"
    bad = runner.invoke(app, ["analytics", "rfm", "--db", db, "--now", "yesterday"])
    assert bad.exit_code == 2


def test_rfm_of_an_unknown_program_exits_1(tmp_path: Path) -> None:
    db = store(tmp_path / "unknown.db")
    result = runner.invoke(app, ["analytics", "rfm", "--db", db, "--program", "nope"])
    assert result.exit_code == 1
    assert "program_not_found" in result.output
