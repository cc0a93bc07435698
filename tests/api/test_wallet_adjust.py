"""An admin's wallet correction, ``POST /members/{id}/wallet/adjust`` and ``patron wallet
adjust`` (issue 12, part 5): signed, once per key, audited, never below 0 (409 with its code
and params), announced with source ``adjustment``, and ``patron verify`` finds nothing wrong.
On both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from patron.audit.models import AuditEntry
from patron.cli.main import app
from patron.kit.db import Database
from patron.kit.outbox import OutboxEvent
from patron.kit.time import utcnow
from patron.ledger.verify import verify as verify_ledger
from patron.purchases.wallet_pay import verify_paid
from patron.wallet.models import WalletEntry
from patron.wallet.verify import verify as verify_wallet
from tests.api.conftest import Api

runner = CliRunner()


async def _member(api: Api) -> int:
    enrolled = await api.call("POST", "/members", json={"external_id": "adj-1"})
    assert enrolled.status_code == 201, enrolled.text
    member_id: int = enrolled.json()["id"]
    return member_id


def _body(amount: str, key: str, reason: str = "till error") -> dict[str, Any]:
    return {"amount": amount, "reason": reason, "idempotency_key": key}


async def _count(database: Database, model: Any) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _breaches(database: Database) -> list[Any]:
    async with database.read() as session:
        moment = utcnow() + timedelta(minutes=1)
        found = await verify_ledger(session, now=moment)
        found += await verify_wallet(session, now=moment)
        found += await verify_paid(session)
        return found


async def test_a_credit_and_a_debit_once_per_key_audited_and_announced(api: Api) -> None:
    member = await _member(api)
    path = f"/members/{member}/wallet/adjust"
    credited = await api.call("POST", path, json=_body("120.50", "k-1"))
    assert credited.status_code == 200, credited.text
    answer = credited.json()
    assert (answer["balance"], answer["currency"], answer["created"]) == ("120.50", "RUB", True)
    assert answer["entry"]["kind"] == "adjust"
    assert (answer["entry"]["amount"], answer["entry"]["source_type"]) == ("120.50", "adjustment")
    assert answer["entry"]["description"] == "till error"
    again = await api.call("POST", path, json=_body("120.50", "k-1"))
    assert (again.status_code, again.json()["created"], again.json()["balance"]) == (
        200,
        False,
        "120.50",
    )
    debited = await api.call("POST", path, json=_body("-20.50", "k-2", "goodwill undone"))
    assert debited.status_code == 200, debited.text
    assert debited.json()["balance"] == "100.00"
    wallet = (await api.call("GET", f"/members/{member}/wallet")).json()
    assert [(i["kind"], i["amount"]) for i in wallet["items"]] == [
        ("adjust", "-20.50"),
        ("adjust", "120.50"),
    ]
    async with api.database.read() as session:
        events = list(
            await session.execute(
                select(OutboxEvent.type, OutboxEvent.payload)
                .where(OutboxEvent.type.in_(["wallet.credited", "wallet.debited"]))
                .order_by(OutboxEvent.id)
            )
        )
        audit = list(
            await session.execute(
                select(AuditEntry.target, AuditEntry.changed, AuditEntry.before, AuditEntry.after)
                .where(AuditEntry.action == "wallet.adjust")
                .order_by(AuditEntry.id)
            )
        )
    assert [(t, p["amount"], p["source"], p["kind"]) for t, p in events] == [
        ("wallet.credited", 12_050, "adjustment", "adjust"),
        ("wallet.debited", 2_050, "adjustment", "adjust"),
    ]
    assert [tuple(row) for row in audit] == [
        (f"member:{member}", True, {"wallet_balance": 0}, {"wallet_balance": 12_050}),
        (f"member:{member}", False, {"wallet_balance": 12_050}, {"wallet_balance": 12_050}),
        (f"member:{member}", True, {"wallet_balance": 12_050}, {"wallet_balance": 10_000}),
    ]
    assert await _breaches(api.database) == []


async def test_below_zero_is_409_with_params_and_changes_nothing(api: Api) -> None:
    member = await _member(api)
    path = f"/members/{member}/wallet/adjust"
    assert (await api.call("POST", path, json=_body("10.00", "k-1"))).status_code == 200
    refused = await api.call("POST", path, json=_body("-10.01", "k-2"))
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("wallet_adjustment_below_zero", "amount")
    assert error["params"] == {"balance": "10.00", "amount": "-10.01", "currency": "RUB"}
    assert await _count(api.database, WalletEntry) == 1
    conflict = await api.call("POST", path, json=_body("11.00", "k-1"))
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (
        409,
        "wallet_entry_conflict",
    )


async def test_bad_input_is_4xx_naming_the_field(api: Api) -> None:
    member = await _member(api)
    path = f"/members/{member}/wallet/adjust"
    for amount in ("0", "0.00", "1.001", "ten", "1e3", " 5"):
        response = await api.call("POST", path, json=_body(amount, f"k-{amount}"))
        assert response.status_code == 422, (amount, response.text)
        assert response.json()["error"]["field"] == "amount"
    for body, field in (
        ({"amount": "1.00", "idempotency_key": "k"}, "reason"),
        (_body("1.00", "k", reason=""), "reason"),
        (_body("1.00", "k", reason="   "), "reason"),
        ({"amount": "1.00", "reason": "r"}, "idempotency_key"),
    ):
        response = await api.call("POST", path, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
    missing = await api.call("POST", "/members/987654/wallet/adjust", json=_body("1.00", "k"))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "member_not_found")
    staff = await api.call("POST", path, "staff", json=_body("1.00", "k"))
    assert staff.status_code == 403
    assert await _count(api.database, WalletEntry) == 0


async def _patron(database: Database, *arguments: str, after: tuple[str, ...] = ()) -> Result:
    """``patron ARGUMENTS --db URL [-- AFTER]`` (a negative amount is written after ``--``)."""
    tail = ["--", *after] if after else []
    return await asyncio.to_thread(runner.invoke, app, [*arguments, "--db", database.url, *tail])


async def test_the_cli_adjusts_audited_and_refuses_below_zero(api: Api) -> None:
    member = await _member(api)
    done = await _patron(
        api.database, "wallet", "adjust", str(member), "25.00", "--reason", "promised"
    )
    assert done.exit_code == 0, done.output
    assert "balance 25.00 RUB" in done.output
    taken = await _patron(
        api.database,
        "wallet",
        "adjust",
        str(member),
        "--reason",
        "too much",
        "--idempotency-key",
        "cli-2",
        after=("-5.00",),
    )
    assert taken.exit_code == 0, taken.output
    assert "balance 20.00 RUB" in taken.output
    refused = await _patron(
        api.database, "wallet", "adjust", str(member), "--reason", "no", after=("-20.01",)
    )
    assert refused.exit_code == 1
    assert "below 0" in refused.output
    bad = await _patron(api.database, "wallet", "adjust", str(member), "abc", "--reason", "x")
    assert bad.exit_code != 0
    async with api.database.read() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.actor).where(AuditEntry.action == "wallet.adjust")
            )
        )
    assert actions == ["cli", "cli"]
    assert (await api.call("GET", f"/members/{member}/wallet")).json()["balance"] == "20.00"
