"""The console's program editor (``/admin/program``): the active file, every problem of an
edited file next to its line (nothing applied), the diff and the simulator's preview of a valid
change, and an admin's apply (a new version, audited); staff may check but not apply. On both
databases."""

from __future__ import annotations

import html
import re
from contextlib import aclosing
from datetime import UTC, datetime

from sqlalchemy import select

from patron.audit.models import AuditEntry
from patron.members.schemas import MemberCreate
from patron.members.service import enrol_member
from patron.programs import service as program_service
from patron.programs.errors import ProgramProblem
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.web.routes.program import _a_month, annotated_lines
from tests.conftest import SEED_PROGRAM
from tests.web.conftest import Console

SEED = SEED_PROGRAM.read_text()
DOUBLED = SEED.replace("    points: 100\n    per_amount:", "    points: 200\n    per_amount:", 1)
MONTHS = (datetime(2026, 9, 10, 12, tzinfo=UTC), datetime(2026, 10, 12, 12, tzinfo=UTC))


async def _active_version(console: Console) -> int:
    async with console.database.read() as session:
        return (await program_service.get_active_program(session)).version


async def _purchases(console: Console) -> None:
    """Two purchases of 1,000.00 RUB a month apart: 100 points each under the seed program."""
    async with console.database.write() as session:
        active = await program_service.get_active_program(session)
        member = await enrol_member(
            session,
            program_id=active.program_id,
            data=MemberCreate(external_id="m-1"),
            now=MONTHS[0],
        )
        for number, moment in enumerate(MONTHS):
            await record_purchase(
                session,
                active=active,
                data=PurchaseCreate(
                    external_id=f"p-{number}",
                    member_id=member.id,
                    occurred_at=moment,
                    currency="RUB",
                    total="1000.00",
                    lines=[{"sku": "TEA-1", "quantity": 1, "unit_price": "1000.00"}],  # type: ignore[list-item]
                ),
                now=moment,
            )


def test_problems_are_placed_on_their_lines() -> None:
    problems = [
        ProgramProblem("a", "first", 2),
        ProgramProblem("", "whole"),
        ProgramProblem("b", "far", 99),
    ]
    lines = annotated_lines("one\ntwo\nthree", problems)
    assert [(line.number, [p.message for p in line.problems]) for line in lines] == [
        (1, []),
        (2, ["first"]),
        (3, ["far"]),  # past the end: the last line
    ]


def test_a_month_rounds_half_away_from_zero() -> None:
    assert [_a_month(total, 2) for total in (3, -3, 2, 0, 1)] == [2, -2, 1, 0, 1]
    assert _a_month(10, 0) == 0


async def test_a_bad_file_shows_each_problem_next_to_its_line(console: Console) -> None:
    version = await _active_version(console)
    broken = SEED.replace("    rounding: floor\n", "    rounding: sideways\n", 1)
    line = broken.splitlines().index("    rounding: sideways") + 1
    client, token = await console.logged_in("staff")
    async with aclosing(client):
        page = await client.get("/admin/program?lang=en")
        assert page.status_code == 200
        assert 'name: "Demo Store Rewards"' in html.unescape(page.text)
        assert 'href="/admin/program" aria-current="page"' in page.text
        checked = await client.post(
            "/admin/program/check?lang=en", data={"csrf_token": token, "text": broken}
        )
        assert checked.status_code == 422
        assert "The file has 1 problem. Nothing was applied." in checked.text
        faulty = re.search(
            rf'<li id="line-{line}" value="{line}" class="at-fault">(.*?)</li>', checked.text, re.S
        )
        assert faulty is not None, checked.text[:2000]
        assert "sideways" in faulty.group(1)
        assert "earning.base.rounding" in faulty.group(1)
        assert f'href="#line-{line}"' in checked.text
        # staff never see the apply button, and cannot apply
        assert 'formaction="/admin/program/apply"' not in checked.text
        refused = await client.post(
            "/admin/program/apply", data={"csrf_token": token, "text": DOUBLED}
        )
        assert refused.status_code == 403
        russian = await client.post(
            "/admin/program/check?lang=ru", data={"csrf_token": token, "text": broken}
        )
        assert "В файле 1 ошибка. Ничего не применено." in russian.text
        # the problem itself in Russian, from its code and params (issue 11 part 7)
        assert "должно быть одним из: &#39;floor&#39;" in russian.text, russian.text[:3000]
        polish = await client.post(
            "/admin/program/check?lang=pl", data={"csrf_token": token, "text": broken}
        )
        assert "musi być jednym z: &#39;floor&#39;" in polish.text
        forged = await client.post("/admin/program/check", data={"csrf_token": "x", "text": SEED})
        assert forged.status_code == 403
    assert await _active_version(console) == version


async def test_a_valid_change_shows_its_diff_and_preview_then_an_admin_applies_it(
    console: Console,
) -> None:
    await _purchases(console)
    version = await _active_version(console)
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        same = await client.post(
            "/admin/program/check?lang=en",
            data={"csrf_token": token, "text": SEED + "\n# a comment\n"},
        )
        assert same.status_code == 200
        assert "applying it would change nothing" in same.text
        assert 'formaction="/admin/program/apply"' not in same.text
        checked = await client.post(
            "/admin/program/check?lang=en", data={"csrf_token": token, "text": DOUBLED}
        )
        assert checked.status_code == 200
        assert "The file is valid." in checked.text
        assert "earning.base.points: 100 -> 200" in html.unescape(checked.text)
        # 2 purchases of 100 points in 2 months; doubled: 100 more a month
        assert "This change would issue 100 points more a month." in checked.text
        assert 'formaction="/admin/program/apply"' in checked.text
        assert await _active_version(console) == version
        polish = await client.post(
            "/admin/program/check?lang=pl", data={"csrf_token": token, "text": DOUBLED}
        )
        assert "Ta zmiana dawałaby o 100 punktów więcej miesięcznie." in polish.text
        applied = await client.post(
            "/admin/program/apply", data={"csrf_token": token, "text": DOUBLED}
        )
        assert applied.status_code == 303
        assert applied.headers["location"] == f"/admin/program?notice=applied&version={version + 1}"
        shown = await client.get(applied.headers["location"] + "&lang=en")
        assert f"Version {version + 1} is now the active program." in shown.text
        again = await client.post(
            "/admin/program/apply", data={"csrf_token": token, "text": DOUBLED}
        )
        assert again.headers["location"] == f"/admin/program?notice=unchanged&version={version + 1}"
        bad = await client.post(
            "/admin/program/apply", data={"csrf_token": token, "text": "program: ["}
        )
        assert bad.status_code == 422
    async with console.database.read() as session:
        active = await program_service.get_active_program(session)
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars().all()
        audited = [(row.actor, row.action, row.target, row.user_id, row.changed) for row in rows]
    assert active.version == version + 1
    assert active.program.earning.base.points == 200
    assert audited == [
        ("user", "program.apply_program", "program:default", console.user_ids["admin"], True),
        ("user", "program.apply_program", "program:default", console.user_ids["admin"], False),
    ]


CAMPAIGNED = (
    SEED
    + """
campaigns:
  - key: autumn
    name: {en: Autumn bonus, pl: Jesienny bonus}
    window: {start: "2026-09-01", end: "2026-12-31"}
    effect: {bonus_points: 30}
    budget: {points: 40}
  - key: birthday
    name: {en: Birthday}
    trigger: birthday
    window: {start: "2026-01-01", end: "2026-12-31"}
    effect: {bonus_points: 50}
"""
)


async def test_the_preview_shows_the_cost_of_each_campaign(console: Console) -> None:
    await _purchases(console)
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        checked = await client.post(
            "/admin/program/check?lang=en", data={"csrf_token": token, "text": CAMPAIGNED}
        )
        assert checked.status_code == 200
        row = re.search(r"<td>autumn</td>(.*?)</tr>", checked.text, re.S)
        assert row is not None, checked.text[checked.text.find("<main") :][:4000]
        # the first purchase takes 30 of 40 points; the second needs 30 with 10 left
        cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)
        assert cells[:2] == ["1", "30"]
        assert cells[2].startswith("10 (ran out ")
        # the birthday campaign is projected from the members' birth dates (none here)
        assert "<td>birthday</td>" in checked.text
        assert "Not projected (see docs/simulator.md)" not in checked.text
        polish = await client.post(
            "/admin/program/check?lang=pl", data={"csrf_token": token, "text": CAMPAIGNED}
        )
        assert "Koszt kampanii na tych samych zakupach" in polish.text


async def test_a_file_with_a_control_character_is_a_problem_on_the_form(console: Console) -> None:
    """A character YAML refuses outright (a NUL pasted into the form) answered 500."""
    client, token = await console.logged_in("admin")
    async with aclosing(client):
        for character in ("\x00", "\x01"):
            text = SEED.replace("Demo Store", f"Demo{character} Store", 1)
            checked = await client.post(
                "/admin/program/check?lang=en", data={"csrf_token": token, "text": text}
            )
            assert checked.status_code == 422
            assert "The file has 1 problem. Nothing was applied." in checked.text
            assert f"U+{ord(character):04X}" in checked.text
