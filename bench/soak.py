"""Crash soak: purchases, redemptions and returns through a real ``patron serve`` that is killed
with SIGKILL at random moments; clients retry as an offline till does. Proves "0 lost, 0
doubled".

    python bench/soak.py                                  # SQLite, 10,000 purchases, 5 kills
    python bench/soak.py --db postgresql://postgres@127.0.0.1:54329/postgres
    python bench/soak.py --purchases 1000 --kills 2 --json   # the suite's short run

The store: the seed program (``examples/seed-program.yaml``), ``--members`` members. Each
member's operations run in order on one of ``--concurrency`` clients (a till serves one
customer at a time): purchases dated 40 days ago (their points are available, none expire);
now and then a whole return of an earlier purchase, sent only when the member's balance covers
its points (so no debt), and a redemption of ``DISC10`` (100 points) when the balance allows.
Every request carries its own ``external_id`` / ``idempotency_key``; on a timeout, a refused
or dropped connection or a 5xx the client sends the same body again (backoff 50 ms doubling to
1 s) until an answer comes. The server is killed (SIGKILL) when the count of answered
operations reaches each of ``--kills`` random thresholds, and started again at once.

At the end the server is stopped and the database read directly:
- lost: an operation answered 2xx whose record (purchase, return, coupon) is absent;
- doubled: an operation whose record is there more than once (points credited twice would
  also show as a member whose counters exceed the expectation);
- each member's counters (available, pending, lifetime_earned, redeemed, expired, debt) must
  equal what the answered operations imply: available = Σ points earned − Σ spent − Σ reversed,
  lifetime_earned = Σ earned − Σ reversed, redeemed = Σ spent, pending = expired = debt = 0;
- no member's tier is below what their points reach (a tier move is in the purchase's unit
  of work: an acknowledged purchase's upgrade is never lost), and each tier move wrote its
  ``tiers.changed`` event;
- ``patron verify`` must exit 0.
It prints the figures (operations answered, lost, doubled, retried, restarts) and exits 1 when
anything is off. With a PostgreSQL URL it works in a database of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from patron.access import service as access_service
from patron.access.models import Role
from patron.kit.db import Database, database_url, null_pool_engine
from patron.kit.time import utcnow
from patron.ledger.models import Account
from patron.members import service as member_service
from patron.members.models import Member
from patron.members.schemas import MemberCreate
from patron.migrations import upgrade_schema
from patron.programs import service as program_service
from patron.programs.loader import load_program
from patron.purchases.models import Purchase, PurchaseReturn
from patron.rewards.models import Coupon

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "examples" / "seed-program.yaml"
REWARD, REWARD_COST = "DISC10", 100
ITEMS = [("cof-1", "coffee", "500.00"), ("tea-2", "tea", "700.00"), ("cake", "pastry", "250.00")]
START_SECONDS = 90


@dataclass
class MemberState:
    number: int
    member_id: int
    external_id: str
    earned: int = 0
    spent: int = 0
    reversed: int = 0
    # the purchases not returned yet: (id, points)
    purchases: list[tuple[int, int]] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return self.earned - self.spent - self.reversed


@dataclass
class Tally:
    answered: int = 0
    retried: int = 0
    server_errors: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    purchases: set[str] = field(default_factory=set)
    returns: set[str] = field(default_factory=set)
    coupons: set[str] = field(default_factory=set)


class Server:
    """``patron serve`` in a session of its own, killed and restarted on demand."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "patron",
                    "serve",
                    "--db",
                    self.url,
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env={**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"},
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"patron serve did not start (log: {self.log})")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(url: str, members: int) -> tuple[str, str, list[MemberState]]:
    await upgrade_schema(url)
    database = Database(url)
    states = []
    async with database.write() as session:
        active = await program_service.apply_program(
            session, text=SEED.read_text(), created_by="soak"
        )
        key = await access_service.create_key(session, name="soak", role=Role.POS, now=utcnow())
        staff = await access_service.create_key(
            session, name="soak-kpis", role=Role.STAFF, now=utcnow()
        )
        for number in range(members):
            external_id = f"soak-m-{number}"
            member = await member_service.enrol_member(
                session,
                program_id=active.program_id,
                data=MemberCreate(external_id=external_id),
                now=utcnow(),
            )
            states.append(MemberState(number, member.id, external_id))
    await database.dispose()
    return key.key, staff.key, states


def _purchase_body(key: str, member: MemberState, rng: random.Random, when: str) -> dict[str, Any]:
    lines = []
    for sku, category, price in rng.sample(ITEMS, rng.randint(1, len(ITEMS))):
        lines.append(
            {"sku": sku, "category": category, "quantity": rng.randint(1, 3), "unit_price": price}
        )
    total = sum(
        int(line["quantity"]) * int(str(line["unit_price"]).replace(".", "")) for line in lines
    )
    return {
        "external_id": key,
        "member_external_id": member.external_id,
        "occurred_at": when,
        "currency": "RUB",
        "total": f"{total // 100}.{total % 100:02d}",
        "lines": lines,
        "store": "soak",
    }


class Soak:
    def __init__(
        self, server: Server, keys: tuple[str, str], members: list[MemberState], args: Any
    ) -> None:
        self.server, self.members, self.args = server, members, args
        self.headers = {"Authorization": f"Bearer {keys[0]}"}
        self.staff_headers = {"Authorization": f"Bearer {keys[1]}"}
        self.tally = Tally()
        self.rng = random.Random(args.seed)
        self.when = (utcnow() - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.run_id = uuid.uuid4().hex[:6]
        self.kpi_reads = 0

    async def send(
        self,
        client: httpx.AsyncClient,
        path: str,
        body: dict[str, Any],
        member: MemberState | None = None,
    ) -> httpx.Response:
        """POST until an answer that is not a server error comes (the same body each time);
        with ``member``, the till presents the member's card number (a till acts only for a
        member it has identified)."""
        delay = 0.05
        headers = dict(self.headers)
        if member is not None:
            headers["X-Patron-Member-External-Id"] = member.external_id
        while True:
            try:
                response = await client.post(path, json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code < 500:
                self.tally.answered += 1
                return response
            if response is not None:
                self.tally.server_errors += 1
            self.tally.retried += 1
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)

    async def member_step(self, client: httpx.AsyncClient, member: MemberState, step: int) -> None:
        """One purchase, then maybe a return and a redemption (each only when affordable)."""
        rng = random.Random(f"{self.args.seed}-{member.number}-{step}")
        key = f"{self.run_id}-p-{member.number}-{step}"
        answer = await self.send(
            client, "/api/v1/purchases", _purchase_body(key, member, rng, self.when)
        )
        if self._record(answer, "purchase"):
            recorded = answer.json()
            member.earned += int(recorded["points_earned"])
            member.purchases.append((int(recorded["id"]), int(recorded["points_earned"])))
            self.tally.purchases.add(key)
        returnable = [bought for bought in member.purchases if bought[1] <= member.balance]
        if returnable and rng.random() < self.args.return_rate:
            await self._return(client, member, rng.choice(returnable), step)
        if member.balance >= REWARD_COST and rng.random() < self.args.redeem_rate:
            await self._redeem(client, member, step)

    async def _return(
        self, client: httpx.AsyncClient, member: MemberState, bought: tuple[int, int], step: int
    ) -> None:
        purchase_id, points = bought
        key = f"{self.run_id}-r-{member.number}-{step}"
        path = f"/api/v1/purchases/{purchase_id}/returns"
        answer = await self.send(client, path, {"external_id": key})
        if self._record(answer, "return"):
            reversed_points = int(answer.json()["points_reversed"])
            if reversed_points != points:
                self.tally.refusals[f"return reversed {reversed_points} of {points}"] += 1
            member.reversed += reversed_points
            member.purchases.remove(bought)
            self.tally.returns.add(key)

    async def _redeem(self, client: httpx.AsyncClient, member: MemberState, step: int) -> None:
        key = f"{self.run_id}-c-{member.number}-{step}"
        body = {"member_id": member.member_id, "reward_code": REWARD, "idempotency_key": key}
        answer = await self.send(client, "/api/v1/redemptions", body, member)
        if self._record(answer, "redemption"):
            member.spent += int(answer.json()["points_spent"])
            self.tally.coupons.add(key)

    def _record(self, answer: httpx.Response, kind: str) -> bool:
        if answer.status_code in (200, 201):
            return True
        self.tally.refusals[f"{kind} {answer.status_code} {answer.json()['error']['code']}"] += 1
        return False

    async def run(self) -> None:
        """``--concurrency`` clients, each taking its members' steps in turns, and the killer."""
        steps = self._plan()
        total = sum(len(member_steps) for member_steps in steps.values())
        thresholds = sorted(self.rng.sample(range(total // 10, total * 9 // 10), self.args.kills))
        limits = httpx.Limits(max_connections=self.args.concurrency * 2)
        timeout = httpx.Timeout(self.args.timeout)
        async with httpx.AsyncClient(
            base_url=self.server.base, limits=limits, timeout=timeout
        ) as client:
            lanes = [
                self._lane(
                    client,
                    [m for m in self.members if m.number % self.args.concurrency == lane],
                    steps,
                )
                for lane in range(self.args.concurrency)
            ]
            work = asyncio.gather(*lanes)
            killer = asyncio.create_task(self._killer(thresholds, work))
            reader = asyncio.create_task(self._analytics(client, work))
            await work
            await killer
            await reader

    def _plan(self) -> dict[int, list[int]]:
        """Purchases per member: ``--purchases`` spread over the members at random."""
        counts = Counter(self.rng.randrange(len(self.members)) for _ in range(self.args.purchases))
        return {member.number: list(range(counts[member.number])) for member in self.members}

    async def _lane(
        self, client: httpx.AsyncClient, members: list[MemberState], steps: dict[int, list[int]]
    ) -> None:
        queues = {member.number: list(steps[member.number]) for member in members}
        while any(queues.values()):
            for member in members:
                if queues[member.number]:
                    await self.member_step(client, member, queues[member.number].pop(0))

    async def _analytics(self, client: httpx.AsyncClient, work: asyncio.Future[Any]) -> None:
        """``GET /analytics/kpis`` every ``--kpis-every`` seconds beside the writes (the KPI
        loader once destroyed the WAL of a live SQLite server: issue 14)."""
        while self.args.kpis_every > 0 and not work.done():
            await asyncio.sleep(self.args.kpis_every)
            try:
                answer = await client.get("/api/v1/analytics/kpis", headers=self.staff_headers)
            except httpx.TransportError:
                continue  # the server is being restarted
            if answer.status_code >= 500:
                self.tally.server_errors += 1
            self.kpi_reads += 1

    async def _killer(self, thresholds: list[int], work: asyncio.Future[Any]) -> None:
        for threshold in thresholds:
            while self.tally.answered < threshold and not work.done():
                await asyncio.sleep(0.002)
            if work.done():
                return
            self.server.kill()
            await asyncio.sleep(self.rng.uniform(0.0, 0.5))
            await asyncio.to_thread(self.server.start)
            self.server.restarts += 1


async def _check(url: str, soak: Soak) -> dict[str, Any]:
    """Read the database directly: lost, doubled, and every member's counters."""
    tally = soak.tally
    database = Database(url)
    async with database.read() as session:
        purchases = Counter(
            (await session.execute(select(Purchase.external_id).where(Purchase.store == "soak")))
            .scalars()
            .all()
        )
        returns = Counter((await session.execute(select(PurchaseReturn.external_id))).scalars())
        coupons = Counter((await session.execute(select(Coupon.idempotency_key))).scalars())
        accounts = {
            row.member_id: row
            for row in await session.execute(
                select(
                    Account.member_id,
                    Account.available,
                    Account.pending,
                    Account.lifetime_earned,
                    Account.redeemed,
                    Account.expired,
                    Account.debt,
                )
            )
        }
        tiers = {
            row.id: row.tier_id for row in await session.execute(select(Member.id, Member.tier_id))
        }
        moves, moved = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM tier_changes), "
                    "(SELECT count(*) FROM outbox_events WHERE type = 'tiers.changed')"
                )
            )
        ).one()
    await database.dispose()
    lost = sum(
        1
        for keys, found in (
            (tally.purchases, purchases),
            (tally.returns, returns),
            (tally.coupons, coupons),
        )
        for key in keys
        if found[key] == 0
    )
    doubled = sum(1 for found in (purchases, returns, coupons) for n in found.values() if n > 1)
    unanswered = (
        sum(1 for key in purchases if key not in tally.purchases)
        + sum(1 for key in returns if key not in tally.returns)
        + sum(1 for key in coupons if key not in tally.coupons)
    )
    mismatched = []
    for member in soak.members:
        row = accounts[member.member_id]
        expected = (member.balance, 0, member.earned - member.reversed, member.spent, 0, 0)
        found = (
            row.available,
            row.pending,
            row.lifetime_earned,
            row.redeemed,
            row.expired,
            row.debt,
        )
        if tuple(found) != expected:
            mismatched.append({"member": member.external_id, "expected": expected, "found": found})
    # a tier is never below what the member's points reach (upgrades are not undone by a
    # return; every purchase of the soak is inside the seed program's 12-month window)
    tier_ids, thresholds = _seed_tiers()
    behind = sum(
        1
        for member in soak.members
        if tier_ids.index(tiers[member.member_id])
        < sum(1 for at in thresholds if accounts[member.member_id].lifetime_earned >= at)
    )
    return {
        "purchases_acknowledged": len(tally.purchases),
        "returns_acknowledged": len(tally.returns),
        "redemptions_acknowledged": len(tally.coupons),
        "operations_answered": tally.answered,
        "refused": dict(tally.refusals),
        "lost": lost,
        "doubled": doubled,
        "recorded_but_not_acknowledged": unanswered,
        "members_mismatched": len(mismatched),
        "mismatches": mismatched[:5],
        "retried": tally.retried,
        "server_errors": tally.server_errors,
        "restarts": soak.server.restarts,
        "kpi_reads": soak.kpi_reads,
        "points_issued": sum(m.earned for m in soak.members),
        "tiers_behind_points": behind,
        "tier_moves": moves,
        "tier_moves_without_event": moves - moved,
    }


def _seed_tiers() -> tuple[list[str | None], list[Decimal]]:
    """The seed program's tier ids, lowest first after ``None`` (no tier), and thresholds, as
    the server reads the program file."""
    levels = load_program(SEED.read_text()).tiers.levels
    return [None, *(level.id for level in levels)], [level.threshold for level in levels]


def _verify(url: str) -> int:
    return subprocess.run(
        [sys.executable, "-m", "patron", "verify", "--db", url], cwd=REPO, capture_output=True
    ).returncode


async def _create_database(server: str, name: str) -> str:
    engine = null_pool_engine(server)
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return make_url(database_url(server)).set(database=name).render_as_string(False)


async def _drop_database(server: str, name: str) -> None:
    engine = null_pool_engine(server)
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--purchases", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--return-rate", type=float, default=0.05, help="per purchase")
    parser.add_argument("--redeem-rate", type=float, default=0.10, help="per purchase")
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--kpis-every", type=float, default=2.0, help="seconds between KPI reads (0: none)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="patron-soak-") as directory:
        name = f"patron_soak_{uuid.uuid4().hex[:8]}"
        url = (
            asyncio.run(_create_database(args.db, name))
            if args.db
            else str(Path(directory) / "soak.db")
        )
        try:
            key, staff_key, members = asyncio.run(_prepare(url, args.members))
            server = Server(url, Path(directory) / "serve.log")
            server.start()
            soak = Soak(server, (key, staff_key), members, args)
            started = time.monotonic()
            try:
                asyncio.run(soak.run())
            finally:
                server.stop()
            seconds = time.monotonic() - started
            figures = asyncio.run(_check(url, soak))
            figures |= {"verify_exit_code": _verify(url), "seconds": round(seconds, 1)}
            figures["database"] = "postgresql" if args.db else "sqlite"
        finally:
            if args.db:
                asyncio.run(_drop_database(args.db, name))
    if args.json:
        print(json.dumps(figures))
    else:
        for name_, value in figures.items():
            print(f"{name_:32} {value}")
    healthy = (
        figures["lost"] == 0
        and figures["doubled"] == 0
        and figures["members_mismatched"] == 0
        and figures["recorded_but_not_acknowledged"] == 0
        and figures["server_errors"] == 0
        and figures["verify_exit_code"] == 0
        and figures["restarts"] == args.kills
        and figures["tiers_behind_points"] == 0
        and figures["tier_moves_without_event"] == 0
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
