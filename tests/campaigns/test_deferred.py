"""Deferred effects applied after a purchase (issue 11 part 6; ``patron.campaigns.deferred``).

A rule's and a purchase campaign's ``issue_reward`` give the member a coupon, without spending
points, once the dispatcher handles the purchase's ``purchases.recorded``: a coupon of cost 0,
a ``rewards.granted`` event, nothing twice when the handler runs again, nothing for a purchase
where the rule did not apply, and what the purchase's own program version said (a later
version that drops the effect does not take it back, and gives nothing to older purchases).
The API's write paths: tests/api/test_deferred_effects.py. On both databases.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from patron.campaigns.deferred import DEFERRED, apply_deferred, not_applied
from patron.cli.main import app
from patron.kit.db import Database
from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import EventEnvelope
from patron.ledger.verify import verify
from patron.programs import service as program_service
from patron.purchases.earn import record_purchase
from patron.purchases.schemas import PurchaseCreate
from patron.rules.vocabulary import EffectKind, EffectType
from patron.rules.vocabulary.effects import CreditWallet, IssueReward, SendMessage
from patron.worker import registry
from tests.campaigns.programs import with_campaigns
from tests.campaigns.triggers import NOW, active, coupons, enrol, payloads
from tests.conftest import SEED_PROGRAM

BIG_BASKET = """      effect:
        bonus_points: 500
"""
WITH_DEFERRED = """      effect:
        bonus_points: 500
      deferred:
        - issue_reward: {reward: FREESHIP}
"""
CAMPAIGN = """
  - key: december-gift
    name: {en: December gift}
    window: {start: "2026-12-01", end: "2026-12-31"}
    when: {order_total_gte: "3000.00"}
    effect: {bonus_points: 10}
    deferred:
      - issue_reward: {reward: DISC10}
"""


def _program(*, rule_effect: bool = True, campaign: bool = True) -> str:
    text = with_campaigns(CAMPAIGN) if campaign else SEED_PROGRAM.read_text()
    if rule_effect:
        assert BIG_BASKET in text
        text = text.replace(BIG_BASKET, WITH_DEFERRED, 1)
    return text


async def _apply(database: Database, text: str) -> int:
    async with database.write() as session:
        applied = await program_service.apply_program(
            session, text=text, key="default", created_by="tests", now=NOW - timedelta(hours=1)
        )
    return applied.program_id


async def _buy(database: Database, member_id: int, external_id: str, total: str) -> int:
    program = await active(database)
    purchase = PurchaseCreate.model_validate(
        {
            "external_id": external_id,
            "member_id": member_id,
            "occurred_at": NOW.isoformat(),
            "currency": "RUB",
            "total": total,
            "lines": [{"sku": "S1", "category": "food", "quantity": 1, "unit_price": total}],
        }
    )
    async with database.write() as session:
        recorded = await record_purchase(session, active=program, data=purchase, now=NOW)
    return recorded.purchase.id


async def _granted(database: Database) -> list[dict[str, Any]]:
    return await payloads(database, "rewards.granted")


async def _due(database: Database) -> list[dict[str, Any]]:
    return await payloads(database, "purchases.effects_due")


async def test_a_rule_and_a_campaign_grant_their_coupons_once(database: Database) -> None:
    program_id = await _apply(database, _program())
    member = await enrol(database, program_id, "ann")
    purchase = await _buy(database, member, "p-1", "12000.00")  # big basket, and >= 3,000
    report = await dispatch_pending(database, registry.handlers(), now=NOW)
    assert report.failed == 0
    assert await coupons(database) == [
        (member, "FREESHIP", 0, f"deferred:{purchase}:big-basket:0"),
        (member, "DISC10", 0, f"deferred:{purchase}:campaign:december-gift:0"),
    ]
    granted = await _granted(database)
    assert [(g["reward_key"], g["source"], g["source_id"]) for g in granted] == [
        ("FREESHIP", "rule", "big-basket"),
        ("DISC10", "campaign", "december-gift"),
    ]
    assert all(g["member_id"] == member and g["purchase_id"] == purchase for g in granted)
    # the handler run again (a retried run, an event dispatched twice) issues nothing more
    due = await _due(database)
    assert [event["effects"] for event in due] == [
        [
            {"source_id": "big-basket", "index": 0, "type": "issue_reward"},
            {"source_id": "campaign:december-gift", "index": 0, "type": "issue_reward"},
        ]
    ]
    envelope = EventEnvelope(
        id=1,
        type="purchases.effects_due",
        version=1,
        program_id=program_id,
        member_id=member,
        occurred_at=NOW,
        data=due[0],
    )
    async with database.write() as session:
        await apply_deferred(session, envelope)
    assert len(await coupons(database)) == 2
    assert len(await _granted(database)) == 2
    async with database.read() as session:
        assert await verify(session, now=NOW) == []


async def test_nothing_is_granted_where_the_rule_did_not_apply(database: Database) -> None:
    program_id = await _apply(database, _program())
    member = await enrol(database, program_id, "bob")
    await _buy(database, member, "p-small", "500.00")  # neither big basket nor >= 3,000
    purchase = await _buy(database, member, "p-mid", "5000.00")  # the campaign only
    assert [event["purchase_id"] for event in await _due(database)] == [purchase]
    await dispatch_pending(database, registry.handlers(), now=NOW)
    assert await coupons(database) == [
        (member, "DISC10", 0, f"deferred:{purchase}:campaign:december-gift:0")
    ]


async def test_a_purchase_keeps_the_effects_of_its_own_program_version(database: Database) -> None:
    program_id = await _apply(database, _program())
    member = await enrol(database, program_id, "cy")
    before = await _buy(database, member, "p-old", "12000.00")
    await _apply(database, _program(rule_effect=False, campaign=False))  # effects dropped
    await _buy(database, member, "p-new", "12000.00")
    await dispatch_pending(database, registry.handlers(), now=NOW)
    assert [row[3] for row in await coupons(database)] == [
        f"deferred:{before}:big-basket:0",
        f"deferred:{before}:campaign:december-gift:0",
    ]


async def test_an_anonymous_purchase_gets_no_coupon(database: Database) -> None:
    await _apply(database, _program())
    program = await active(database)
    purchase = PurchaseCreate.model_validate(
        {
            "external_id": "anon",
            "occurred_at": NOW.isoformat(),
            "currency": "RUB",
            "total": "12000.00",
            "lines": [{"sku": "S1", "quantity": 1, "unit_price": "12000.00"}],
        }
    )
    async with database.write() as session:
        await record_purchase(session, active=program, data=purchase, now=NOW)
    await dispatch_pending(database, registry.handlers(), now=NOW)
    assert await coupons(database) == []
    assert await _due(database) == []


async def test_an_import_of_history_grants_nothing(database: Database) -> None:
    program_id = await _apply(database, _program())
    member = await enrol(database, program_id, "eve")
    program = await active(database)
    purchase = PurchaseCreate.model_validate(
        {
            "external_id": "old",
            "member_id": member,
            "occurred_at": NOW.isoformat(),
            "currency": "RUB",
            "total": "12000.00",
            "lines": [{"sku": "S1", "quantity": 1, "unit_price": "12000.00"}],
        }
    )
    async with database.write() as session:
        recorded = await record_purchase(
            session, active=program, data=purchase, now=NOW, campaigns=False
        )
    assert recorded.deferred  # the rule applied and collected its effect
    assert await _due(database) == []


def test_every_deferred_effect_type_has_an_entry() -> None:
    deferred = {kind for kind in EffectType if kind.kind is EffectKind.DEFERRED}
    assert set(DEFERRED) == deferred
    assert not not_applied(IssueReward(reward="FREESHIP"))
    assert not not_applied(SendMessage(template="thanks"))
    assert not not_applied(CreditWallet(amount="5.00"))  # type: ignore[arg-type]


THANKS = """
messages:
  - id: thanks
    subject: {ru: "Спасибо", en: "Thank you"}
    body: {ru: "Спасибо, {name}!", en: "Thank you, {name}!"}
"""


def _validate(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "program.yaml"
    path.write_text(text)
    return CliRunner().invoke(app, ["program", "validate", str(path), "--json"])


def test_validate_no_longer_warns_of_send_message(tmp_path: Path) -> None:
    text = _program().replace(
        "        - issue_reward: {reward: FREESHIP}\n",
        "        - issue_reward: {reward: FREESHIP}\n"
        "        - send_message: {template: thanks}\n"
        '        - credit_wallet: {amount: "50.00"}\n',
    )
    result = _validate(tmp_path, text + THANKS)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warnings"] == []
    # a message the file does not define is an error
    result = _validate(tmp_path, text)
    assert result.exit_code == 2, result.output
    assert "earning.rules[1].deferred[1].send_message.template" in result.output
    assert "'thanks' is not the id of a message in messages" in result.output
