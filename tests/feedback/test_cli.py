"""``patron feedback analyze|problems|invite`` and the survey job in ``patron jobs run``, end
to end on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from patron.cli.main import app
from patron.feedback import schemas
from patron.feedback import service as feedback_service
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.programs import service as program_service
from tests.feedback.factories import buy, enrol, program_text

runner = CliRunner()
TEXTS = ["Курьер нахамил и опоздал на три часа, верните деньги", "Great coffee, thank you!"]


async def _prepare(url: str) -> list[int]:
    database = Database(url)
    now = utcnow()
    try:
        async with database.write() as session:
            active = await program_service.get_active_program(session)
            member = await enrol(session, active=active, external_id="m1")
            other = await enrol(session, active=active, external_id="m2")
            await buy(
                session,
                active=active,
                member_id=member,
                external_id="o1",
                at=now - timedelta(days=4),
            )
            for text in TEXTS:
                await feedback_service.create_review(
                    session,
                    data=schemas.ReviewCreate(member_id=member, rating=3, text=text, store="msk-1"),
                    now=now - timedelta(days=1),
                )
        return [member, other]
    finally:
        await database.dispose()


def test_analyze_problems_invite_and_job(tmp_path: Path) -> None:
    db = str(tmp_path / "feedback.db")
    program = tmp_path / "program.yaml"
    program.write_text(program_text(), encoding="utf-8")
    applied = runner.invoke(app, ["program", "apply", str(program), "--db", db])
    assert applied.exit_code == 0, applied.output
    member, other = asyncio.run(_prepare(db))

    analysed = runner.invoke(app, ["feedback", "analyze", "--db", db, "--json"])
    assert analysed.exit_code == 0, analysed.output
    body = json.loads(analysed.stdout)
    assert body["analysed"]["analysed"] == 2
    assert body["problems"]["texts"] == 2
    assert sum(body["problems"]["labels"].values()) == 2
    again = runner.invoke(app, ["feedback", "analyze", "--db", db, "--json"])
    assert json.loads(again.stdout)["analysed"]["analysed"] == 0

    problems = runner.invoke(app, ["feedback", "problems", "--db", db, "--json"])
    assert problems.exit_code == 0, problems.output
    listed = json.loads(problems.stdout)
    for key in ("texts", "negative", "labels", "problems"):
        assert listed[key] == body["problems"][key]
    text = runner.invoke(app, ["feedback", "problems", "--db", db, "--store", "elsewhere"])
    assert text.exit_code == 0
    assert "0 texts" in text.output
    assert "no complaints in this period" in text.output

    invited = runner.invoke(
        app,
        [
            *("feedback", "invite", "csat", "--member", str(member), "--member", str(other)),
            *("--source-ref", "dec", "--db", db, "--json"),
        ],
    )
    assert invited.exit_code == 0, invited.output
    batch = json.loads(invited.stdout)
    assert (batch["created"], batch["existing"]) == (2, 0)
    assert [i["link"].startswith("/s/") for i in batch["invitations"]] == [True, True]
    unknown = runner.invoke(
        app, ["feedback", "invite", "nope", "--tier", "gold", "--source-ref", "x", "--db", db]
    )
    assert unknown.exit_code == 1
    assert "survey_not_found" in unknown.output

    jobs = runner.invoke(app, ["jobs", "run", "--db", db, "--json"])
    assert jobs.exit_code == 0, jobs.output
    report = json.loads(jobs.stdout)
    assert (report["survey_invitations"], report["feedback_analysed"]) == (1, 0)
    rerun = runner.invoke(app, ["jobs", "run", "--db", db, "--json"])
    assert json.loads(rerun.stdout)["survey_invitations"] == 0
