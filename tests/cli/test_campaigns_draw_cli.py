"""``patron campaigns draw`` and the seed ``patron campaigns show`` prints: a raffle whose
window is over is drawn once (a second draw prints the same winners), and a draw before the
end, of an unknown key or of a campaign that is no raffle exits 1 with a message."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta

from click.testing import Result
from typer.testing import CliRunner

from patron.cli.main import app
from patron.kit.db import Database
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.rules.vocabulary.prizes import draw_winners
from tests.campaigns.programs import with_campaigns
from tests.purchases.bulk.factories import enrol

runner = CliRunner()
NOVEMBER = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)  # the raffle's window is over by now
CAMPAIGNS = """
  - key: november-raffle
    name: {en: "November raffle"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    raffle: {per_purchase: 2, winners: 2}
  - key: long-raffle
    name: {en: "A raffle still running"}
    window: {start: "2026-11-01", end: "2099-12-31"}
    raffle: {per_purchase: 1}
  - key: bonus
    name: {en: "Bonus"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    effect: {bonus_points: 10}
"""


async def _patron(database: Database, *arguments: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", database.url])


async def _buy(database: Database, external_id: str, member: str) -> None:
    data = PurchaseCreate.model_validate(
        {
            "external_id": external_id,
            "member_external_id": member,
            "occurred_at": NOVEMBER.isoformat(),
            "currency": "RUB",
            "total": "100.00",
            "lines": [{"sku": "t", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
        }
    )
    async with database.write() as session:
        active = await program_service.get_active_program(session)
        await record_purchase(session, active=active, data=data, now=NOVEMBER + timedelta(hours=1))


async def test_draw_a_raffle_once_and_refuse_bad_draws(database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    program = tmp_path / "program.yaml"
    program.write_text(with_campaigns(CAMPAIGNS))
    applied = await _patron(database, "program", "apply", str(program))
    assert applied.exit_code == 0, applied.output
    shown = await _patron(database, "campaigns", "show", "november-raffle", "--json")
    committed = json.loads(shown.stdout)["seed_hash"]
    assert len(committed) == 64  # committed by `program apply`, before any entry
    assert json.loads(shown.stdout)["seed"] is None
    text = await _patron(database, "campaigns", "show", "november-raffle")
    assert f"seed hash  {committed}" in text.stdout

    async with database.read() as session:
        program_id = (await program_service.get_active_program(session)).program_id
    members = await enrol(database, program_id, ["ann", "bob", "cid"])
    for n, member in enumerate(["ann", "bob", "cid", "ann"]):
        await _buy(database, f"p-{n}", member)

    drawn = await _patron(database, "campaigns", "draw", "november-raffle", "--json")
    assert drawn.exit_code == 0, drawn.output
    body = json.loads(drawn.stdout)
    assert body["entries"] == 8
    assert hashlib.sha256(body["seed"].encode()).hexdigest() == committed
    tickets = [(e["member_id"], e["entries"]) for e in body["entries_by_member"]]
    assert sorted(tickets) == sorted(
        [(members["ann"], 4), (members["bob"], 2), (members["cid"], 2)]
    )
    winners = [w["member_id"] for w in body["winners"]]
    assert winners == draw_winners(body["seed"], "november-raffle", tickets, 2)

    again = await _patron(database, "campaigns", "draw", "november-raffle", "--winners", "3")
    assert again.exit_code == 0, again.output
    assert "2 winners from 8 entries of 3 members" in again.stdout
    for rank, member in enumerate(winners, start=1):
        assert f"{rank}. member {member} " in again.stdout

    for key, message in (
        ("long-raffle", "is drawn once its window is over"),
        ("bonus", "is not a raffle"),
        ("nope", "no campaign 'nope'"),
    ):
        refused = await _patron(database, "campaigns", "draw", key)
        assert refused.exit_code == 1, (key, refused.output)
        assert message in refused.output
    running = await _patron(database, "campaigns", "show", "long-raffle", "--json")
    assert json.loads(running.stdout)["seed"] is None  # a refused draw reveals nothing


RANKED = """
  - key: ranked
    name: {en: "Ranked raffle"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    raffle:
      per_purchase: 1
      winners: 3
      prize: {credit_wallet: "25.50"}
      prizes: [{rank: 1, bonus_points: 5000}, {rank: 2, issue_reward: GIFT500}]
  - key: lucky
    name: {en: "Lucky"}
    window: {start: "2026-11-01", end: "2026-11-30"}
    prize: {probability: "0.5"}
    effect: {bonus_points: 10}
"""


async def test_draw_and_show_print_what_each_winner_received(database: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    program = tmp_path / "program.yaml"
    program.write_text(with_campaigns(RANKED))
    assert (await _patron(database, "program", "apply", str(program))).exit_code == 0
    async with database.read() as session:
        program_id = (await program_service.get_active_program(session)).program_id
    members = await enrol(database, program_id, ["ann", "bob", "cid"])
    for n, member in enumerate(["ann", "bob", "cid"]):
        await _buy(database, f"p-{n}", member)
    drawn = await _patron(database, "campaigns", "draw", "ranked")
    assert drawn.exit_code == 0, drawn.output
    body = json.loads((await _patron(database, "campaigns", "draw", "ranked", "--json")).stdout)
    first, second, third = (w["member_id"] for w in body["winners"])
    assert set(members.values()) == {first, second, third}
    code = body["winners"][1]["prize"]["coupon_code"]
    assert f"1. member {first} (1 entries): 5000 points" in drawn.stdout
    assert f"2. member {second} (1 entries): coupon {code} (GIFT500)" in drawn.stdout
    assert f"3. member {third} (1 entries): 25.50 RUB into the wallet" in drawn.stdout
    assert f"counted    3 purchases, digest {body['entries_digest']}" in drawn.stdout
    assert body["winners"][2]["prize"]["amount_minor"] == 2550
    shown = await _patron(database, "campaigns", "show", "ranked")
    assert f"3. member {third} (1 entries): 25.50 RUB into the wallet" in shown.stdout

    # the instant prize's window is over and its seed shown: it cannot end later
    program.write_text(
        with_campaigns(RANKED.replace('2026-11-30"}\n    prize', '2099-11-30"}\n    prize'))
    )
    moved = await _patron(database, "program", "apply", str(program))
    assert moved.exit_code == 1
    assert "campaigns[1].window.end" in moved.output
    assert "its seed is shown since" in moved.output
