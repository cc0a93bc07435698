"""The role matrix: every operation the app answers has an entry here, and each entry is held.

``MATRIX`` is the authorization of the whole app as one table: (method, path template) to the
roles that may call it and a sample request that succeeds. The route walk
(:func:`patron.api.role_matrix.role_matrix`) fails when an operation has no entry, or when the
code's roles differ from the entry's. Each entry is then called as every role: the admitted
roles get the sample's status, every other role 403 ``forbidden``, no key 401
``missing_api_key``, an unknown key 401 ``invalid_api_key``, and no refused call changes a row
of any table. Public pages (no key) are entries with ``PUBLIC`` roles.

One database serves the whole module: the data the samples need is made once, through the
API, and each sample draws fresh objects (a coupon, a ticket, a link) where a call uses one up.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select, text

from patron.access import service as access_service
from patron.access.models import Role
from patron.api.app import create_app
from patron.api.role_matrix import Operation, role_matrix
from patron.kit.db import Base, Database
from patron.kit.outbox import EventEnvelope
from patron.kit.time import utcnow
from patron.members import card
from patron.notifications import tokens
from patron.programs import service as program_service
from patron.webhooks.handlers import queue_deliveries
from patron.webhooks.models import WebhookDelivery
from tests.api.conftest import PARTNER_ID
from tests.conftest import REPO, _empty_all_tables
from tests.feedback.factories import NPS_SURVEY

API = "/api/v1"
# the seed program, campaigns, and the partner of the matrix's partner key (PARTNER_ID)
CAMPAIGNS_PROGRAM = REPO / "examples" / "campaigns-program.yaml"
PUBLIC: frozenset[str] = frozenset()  # no key asked
ADMIN = frozenset({"admin"})
STAFF = frozenset({"admin", "staff"})
POS = frozenset({"admin", "pos"})
STAFF_POS = frozenset({"admin", "staff", "pos"})
PARTNER = frozenset({"admin", "partner"})
ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True)
class Sample:
    """A request that succeeds with ``status`` for each admitted role. Strings in the path,
    the JSON body, the form and the query are templates filled per call: ``{n}`` is a number
    new to each call, ``{member_id}`` and the like (or :class:`Ref` for a JSON value) name
    the prepared data, and the names of :data:`POOLS` draw an object no call has used yet."""

    status: int
    path: str | None = None  # default: the entry's path template
    json: Any = None
    form: dict[str, str] | None = None
    query: dict[str, str] | None = None
    content: str | None = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Ref:
    """A prepared value put into a JSON body as it is (an id stays an integer)."""

    name: str


@dataclass(frozen=True)
class Entry:
    roles: frozenset[str]
    sample: Sample


def _purchase(external_id: str, rubles: int = 100, days_ago: int = 1) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    return {
        "external_id": external_id,
        "member_id": Ref("member_id"),
        "occurred_at": at,
        "currency": "RUB",
        "total": f"{rubles}.00",
        "lines": [{"sku": "tea-1", "category": "tea", "quantity": 1, "unit_price": f"{rubles}.00"}],
    }


# how a till presents the member a request names by id (patron.api.till_identity)
BY_CARD = {"X-Patron-Member-External-Id": "{external_id}"}
BY_TOKEN = {"X-Patron-Member-Token": "{card_token}"}

_TICKET = {"member_id": Ref("member_id"), "channel": "email", "category": "other", "subject": "S"}

MATRIX: dict[tuple[str, str], Entry] = {
    # members
    ("POST", "/api/v1/members"): Entry(POS, Sample(201, json={"external_id": "enrol-{n}"})),
    ("POST", "/api/v1/members/batch"): Entry(
        ADMIN, Sample(200, json={"members": [{"external_id": "batch-{n}"}]})
    ),
    ("GET", "/api/v1/members"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/members/by-external-id/{external_id}"): Entry(STAFF_POS, Sample(200)),
    ("GET", "/api/v1/members/by-phone/{phone}"): Entry(
        STAFF_POS, Sample(200, path=f"{API}/members/by-phone/%2B48601000001")
    ),
    ("GET", "/api/v1/members/by-token/{token}"): Entry(
        STAFF_POS, Sample(200, path=f"{API}/members/by-token/{{card_token}}")
    ),
    ("GET", "/api/v1/members/{member_id}"): Entry(STAFF_POS, Sample(200, headers=BY_TOKEN)),
    ("PATCH", "/api/v1/members/{member_id}"): Entry(
        POS, Sample(200, json={"name": "N {n}"}, headers=BY_CARD)
    ),
    ("POST", "/api/v1/members/{member_id}/consents"): Entry(
        POS, Sample(200, json={"channel": "email", "is_granted": True}, headers=BY_CARD)
    ),
    ("POST", "/api/v1/members/{member_id}/block"): Entry(
        ADMIN, Sample(200, path=f"{API}/members/{{active_member}}/block", json={"reason": "r"})
    ),
    ("POST", "/api/v1/members/{member_id}/unblock"): Entry(
        ADMIN, Sample(200, path=f"{API}/members/{{blocked_member}}/unblock")
    ),
    ("POST", "/api/v1/members/{member_id}/unflag"): Entry(ADMIN, Sample(200)),
    ("GET", "/api/v1/members/{member_id}/ledger"): Entry(STAFF_POS, Sample(200, headers=BY_CARD)),
    ("GET", "/api/v1/members/{member_id}/wallet"): Entry(STAFF_POS, Sample(200, headers=BY_CARD)),
    ("POST", "/api/v1/members/{member_id}/wallet/adjust"): Entry(
        ADMIN, Sample(200, json={"amount": "1.00", "reason": "r", "idempotency_key": "adj-{n}"})
    ),
    ("GET", "/api/v1/members/{member_id}/tier-history"): Entry(
        STAFF_POS, Sample(200, headers=BY_CARD)
    ),
    ("GET", "/api/v1/members/{member_id}/challenges"): Entry(
        STAFF_POS, Sample(200, headers=BY_CARD)
    ),
    ("GET", "/api/v1/members/{member_id}/insights"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/members/{member_id}/export"): Entry(ADMIN, Sample(200)),
    ("POST", "/api/v1/members/{member_id}/erase"): Entry(
        ADMIN, Sample(200, path=f"{API}/members/{{erasable_member}}/erase")
    ),
    ("GET", "/api/v1/audit"): Entry(ADMIN, Sample(200)),
    # API keys
    ("GET", "/api/v1/keys"): Entry(ADMIN, Sample(200)),
    ("POST", "/api/v1/keys"): Entry(ADMIN, Sample(201, json={"name": "k-{n}", "role": "pos"})),
    ("DELETE", "/api/v1/keys/{key_id}"): Entry(
        ADMIN, Sample(204, path=f"{API}/keys/{{removable_key}}")
    ),
    # the outbox's operations
    ("POST", "/api/v1/events"): Entry(
        STAFF_POS,
        Sample(
            201,
            json={
                "member_id": Ref("member_id"),
                "type": "app_install",
                "occurred_at": "2026-12-01T10:00:00Z",
                "idempotency_key": "install-{n}",
            },
            headers=BY_CARD,
        ),
    ),
    ("GET", "/api/v1/events/dead"): Entry(ADMIN, Sample(200)),
    ("POST", "/api/v1/events/dead/retry"): Entry(ADMIN, Sample(200, json={"handler": "none"})),
    ("GET", "/api/v1/events/stats"): Entry(ADMIN, Sample(200)),
    # webhooks (a public address: nothing is sent, the poller does not run here)
    ("POST", "/api/v1/webhooks"): Entry(
        ADMIN, Sample(201, json={"url": "https://8.8.8.8/hooks/{n}", "events": ["*"]})
    ),
    ("GET", "/api/v1/webhooks"): Entry(ADMIN, Sample(200)),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): Entry(
        ADMIN, Sample(204, path=f"{API}/webhooks/{{removable_webhook}}")
    ),
    ("POST", "/api/v1/webhooks/{webhook_id}/enable"): Entry(ADMIN, Sample(200)),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): Entry(ADMIN, Sample(200)),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): Entry(
        ADMIN, Sample(200)
    ),
    ("GET", "/api/v1/messages"): Entry(STAFF, Sample(200, query={"member_id": "{member_id}"})),
    # purchases (POST /purchases is the direct lane: its fast path checks the role itself)
    ("POST", "/api/v1/purchases"): Entry(
        POS, Sample(201, json=_purchase("p-{n}"), headers=BY_CARD)
    ),
    ("POST", "/api/v1/purchases/batch"): Entry(
        POS, Sample(200, json={"purchases": [_purchase("b-{n}")]}, headers=BY_CARD)
    ),
    ("GET", "/api/v1/purchases/{purchase_id}"): Entry(STAFF_POS, Sample(200)),
    ("POST", "/api/v1/purchases/{purchase_id}/returns"): Entry(
        POS, Sample(201, json={"external_id": "r-{n}", "amount": "10.00"})
    ),
    # coalition partners (a partner key: its own partner's paths alone)
    ("GET", "/api/v1/partners"): Entry(PARTNER, Sample(200)),
    ("POST", "/api/v1/partners/{partner_id}/purchases"): Entry(
        PARTNER,
        Sample(
            201,
            path=f"{API}/partners/{PARTNER_ID}/purchases",
            json={
                "external_id": "pp-{n}",
                "member_external_id": "{external_id}",
                "amount": "50.00",
            },
        ),
    ),
    ("POST", "/api/v1/partners/{partner_id}/payments"): Entry(
        PARTNER,
        Sample(
            201,
            path=f"{API}/partners/{PARTNER_ID}/payments",
            json={"external_id": "pay-{n}", "member_external_id": "{external_id}", "points": 1},
        ),
    ),
    ("POST", "/api/v1/partners/{partner_id}/purchases/{external_id}/returns"): Entry(
        PARTNER,
        Sample(
            201,
            path=f"{API}/partners/{PARTNER_ID}/purchases/matrix-bill/returns",
            json={"external_id": "pr-{n}", "amount": "0.01"},
        ),
    ),
    ("GET", "/api/v1/partners/{partner_id}/settlement"): Entry(
        PARTNER,
        Sample(
            200,
            path=f"{API}/partners/{PARTNER_ID}/settlement",
            query={"from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        ),
    ),
    # rewards and checkout
    ("GET", "/api/v1/rewards"): Entry(STAFF_POS, Sample(200)),
    ("POST", "/api/v1/redemptions"): Entry(
        POS,
        Sample(
            201, json={"member_id": Ref("member_id"), "reward_code": "DISC10"}, headers=BY_TOKEN
        ),
    ),
    ("GET", "/api/v1/coupons/{code}"): Entry(STAFF_POS, Sample(200)),
    ("POST", "/api/v1/coupons/{code}/consume"): Entry(
        POS, Sample(200, json={"ref": "o-{n}", "member_id": Ref("member_id")}, headers=BY_CARD)
    ),
    ("POST", "/api/v1/coupons/{code}/cancel"): Entry(POS, Sample(200)),
    ("POST", "/api/v1/checkout/quote"): Entry(
        POS,
        Sample(
            200,
            json={k: v for k, v in _purchase("q").items() if k != "external_id"},
            headers=BY_CARD,
        ),
    ),
    # the program
    ("GET", "/api/v1/program"): Entry(STAFF_POS, Sample(200)),
    ("PUT", "/api/v1/program"): Entry(ADMIN, Sample(200, content=CAMPAIGNS_PROGRAM.read_text())),
    ("GET", "/api/v1/program/versions"): Entry(STAFF_POS, Sample(200)),
    ("GET", "/api/v1/program/versions/{version}"): Entry(STAFF_POS, Sample(200)),
    # the product catalogue
    ("GET", "/api/v1/products"): Entry(STAFF_POS, Sample(200)),
    ("POST", "/api/v1/products"): Entry(
        ADMIN, Sample(201, json={"sku": "sku-{n}", "name": "Product {n}", "price": "10.00"})
    ),
    # campaigns (the prepared program is examples/campaigns-program.yaml)
    ("GET", "/api/v1/campaigns"): Entry(STAFF_POS, Sample(200)),
    ("POST", "/api/v1/campaigns"): Entry(
        ADMIN,
        Sample(
            201,
            json={
                "key": "c-{n}",
                "name": {"en": "C {n}"},
                "window": {"start": "2027-03-01", "end": "2027-03-31"},
                "effect": {"bonus_points": 10},
            },
        ),
    ),
    ("PATCH", "/api/v1/campaigns/{key}"): Entry(
        ADMIN,
        Sample(200, path=f"{API}/campaigns/december-bonus", json={"description": "d {n}"}),
    ),
    ("GET", "/api/v1/campaigns/{key}"): Entry(
        STAFF_POS, Sample(200, path=f"{API}/campaigns/december-bonus")
    ),
    ("GET", "/api/v1/campaigns/{key}/stats"): Entry(
        STAFF, Sample(200, path=f"{API}/campaigns/december-bonus/stats")
    ),
    ("GET", "/api/v1/campaigns/{key}/raffle"): Entry(
        STAFF, Sample(200, path=f"{API}/campaigns/may-raffle/raffle")
    ),
    # may-raffle runs until 31 May 2027: the admin's draw is refused as not ended (409); the
    # draw itself is tests/api/test_raffle_draw.py
    ("POST", "/api/v1/campaigns/{key}/draw"): Entry(
        ADMIN, Sample(409, path=f"{API}/campaigns/may-raffle/draw")
    ),
    # referrals (flagged ones: enrolled with the referrer's email, a self-referral)
    ("GET", "/api/v1/referrals"): Entry(STAFF, Sample(200, query={"status": "flagged"})),
    ("GET", "/api/v1/referrals/kpis"): Entry(STAFF, Sample(200)),
    ("POST", "/api/v1/referrals/{referral_id}/approve"): Entry(
        ADMIN, Sample(200, path=f"{API}/referrals/{{referral_to_approve}}/approve")
    ),
    ("POST", "/api/v1/referrals/{referral_id}/reject"): Entry(
        ADMIN, Sample(200, path=f"{API}/referrals/{{referral_to_reject}}/reject")
    ),
    ("GET", "/api/v1/members/{member_id}/referral"): Entry(STAFF_POS, Sample(200, headers=BY_CARD)),
    # support tickets
    ("POST", "/api/v1/tickets"): Entry(
        STAFF_POS, Sample(201, json={**_TICKET, "text": "{n}"}, headers=BY_CARD)
    ),
    ("GET", "/api/v1/tickets"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/tickets/kpis"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/tickets/returns-stats"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/tickets/{ticket_id}"): Entry(STAFF, Sample(200)),
    ("POST", "/api/v1/tickets/{ticket_id}/messages"): Entry(
        STAFF_POS, Sample(201, json={"text": "m {n}", "author_kind": "member"})
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/assign"): Entry(
        STAFF, Sample(200, json={"assignee": "agent-{n}"})
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/priority"): Entry(
        STAFF, Sample(200, json={"priority": "high"})
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/status"): Entry(
        STAFF, Sample(200, path=f"{API}/tickets/{{open_ticket}}/status", json={"status": "pending"})
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/goodwill"): Entry(
        STAFF, Sample(201, json={"points": 1, "reason": "sorry", "idempotency_key": "g-{n}"})
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/goodwill/{goodwill_id}/approve"): Entry(
        ADMIN,
        Sample(
            200,
            path=f"{API}/tickets/{{goodwill_to_approve_ticket}}/goodwill/{{goodwill_to_approve}}/approve",
        ),
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/goodwill/{goodwill_id}/reject"): Entry(
        ADMIN,
        Sample(
            200,
            path=f"{API}/tickets/{{goodwill_to_reject_ticket}}/goodwill/{{goodwill_to_reject}}/reject",
        ),
    ),
    # analytics
    ("GET", "/api/v1/analytics/rfm"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/analytics/kpis"): Entry(STAFF, Sample(200)),
    # feedback
    ("GET", "/api/v1/surveys"): Entry(STAFF, Sample(200)),
    ("POST", "/api/v1/surveys"): Entry(ADMIN, Sample(201, json={**NPS_SURVEY, "key": "s-{n}"})),
    ("GET", "/api/v1/surveys/{key}"): Entry(STAFF, Sample(200)),
    ("PATCH", "/api/v1/surveys/{key}"): Entry(ADMIN, Sample(200, json={"name": "S {n}"})),
    ("POST", "/api/v1/surveys/{key}/invitations"): Entry(
        STAFF, Sample(200, json={"member_ids": [Ref("member_id")], "source_ref": "i-{n}"})
    ),
    ("GET", "/api/v1/surveys/{key}/invitations"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/surveys/{key}/responses"): Entry(STAFF, Sample(200)),
    ("POST", "/api/v1/reviews"): Entry(
        POS,
        Sample(
            201, json={"member_id": Ref("member_id"), "rating": 4, "text": "r {n}"}, headers=BY_CARD
        ),
    ),
    ("GET", "/api/v1/reviews"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/reviews/{review_id}"): Entry(STAFF, Sample(200)),
    ("POST", "/api/v1/reviews/{review_id}/replies"): Entry(
        STAFF, Sample(200, json={"text": "thanks {n}"})
    ),
    ("POST", "/api/v1/reviews/{review_id}/publish"): Entry(
        STAFF, Sample(200, json={"published": True})
    ),
    ("POST", "/api/v1/feedback/analyze"): Entry(STAFF, Sample(200, json={"texts": ["Great"]})),
    ("GET", "/api/v1/feedback/problems"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/feedback/kpis"): Entry(STAFF, Sample(200)),
    ("GET", "/api/v1/feedback/follow-ups"): Entry(STAFF, Sample(200)),
    # pages outside the API, without a key
    ("GET", "/u/{token}"): Entry(PUBLIC, Sample(200, path="/u/{unsubscribe}")),
    ("POST", "/u/{token}"): Entry(
        PUBLIC, Sample(200, path="/u/{unsubscribe}", form={"List-Unsubscribe": "One-Click"})
    ),
    ("GET", "/docs"): Entry(PUBLIC, Sample(200)),
    ("GET", "/openapi.json"): Entry(PUBLIC, Sample(200)),
    ("GET", "/healthz"): Entry(PUBLIC, Sample(200)),
    ("GET", "/metrics"): Entry(ADMIN, Sample(200)),
    ("GET", "/static/swagger/{path}"): Entry(
        PUBLIC, Sample(200, path="/static/swagger/swagger-ui.css")
    ),
}


def _role_names(operation: Operation) -> frozenset[str]:
    return PUBLIC if operation.roles is None else frozenset(role.value for role in operation.roles)


_ROLE_SETS = {ADMIN: "ADMIN", STAFF: "STAFF", POS: "POS", STAFF_POS: "STAFF_POS", PUBLIC: "PUBLIC"}


def _how_to_add(operation: Operation) -> str:
    names = _role_names(operation)
    roles = _ROLE_SETS.get(names, f"frozenset({sorted(names)})")
    return (
        f"{operation.method} {operation.path} has no entry in MATRIX "
        f"(tests/api/test_role_matrix.py); add\n"
        f'    ("{operation.method}", "{operation.path}"): Entry({roles}, '
        f"Sample(<status>, json=<a body that succeeds for each of them>)),\n"
        f"and its row to the endpoint table of docs/api.md"
    )


def test_every_operation_has_an_entry_with_the_code_s_roles() -> None:
    operations = role_matrix(create_app("sqlite+aiosqlite:///:memory:"))
    problems = []
    for operation in operations:
        entry = MATRIX.get((operation.method, operation.path))
        if entry is None:
            problems.append(_how_to_add(operation))
        elif entry.roles != _role_names(operation):
            problems.append(
                f"{operation.method} {operation.path}: the code admits "
                f"{sorted(_role_names(operation)) or 'anyone'}, "
                f"MATRIX says {sorted(entry.roles) or 'anyone'}"
            )
    known = {(operation.method, operation.path) for operation in operations}
    problems += [
        f"{method} {path}: in MATRIX, but the app has no such operation"
        for method, path in MATRIX
        if (method, path) not in known
    ]
    assert not problems, "\n".join(problems)


def test_the_walk_finds_every_operation_of_the_openapi_document() -> None:
    """The walk reads FastAPI's included routers (``iter_route_contexts``; in FastAPI 0.165
    ``app.routes`` does not list them flat): it must see what the OpenAPI document sees."""
    app = create_app("sqlite+aiosqlite:///:memory:")
    documented = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    walked = {(op.method, op.path) for op in role_matrix(app) if op.path.startswith(API)}
    assert walked == documented
    assert ("POST", "/api/v1/purchases") in walked


def test_partner_keys_reach_only_the_partners_routes() -> None:
    """``partner`` may call only the coalition's operations (``/partners``: its own partner's,
    docs/partners.md); every other entry below refuses it."""
    operations = role_matrix(create_app("sqlite+aiosqlite:///:memory:"))
    admitted = [op.path for op in operations if op.roles and Role.PARTNER in op.roles]
    assert admitted
    assert all(path.startswith(f"{API}/partners") for path in admitted)


API_DOCS = REPO / "docs" / "api.md"
_DOCS_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \| ([^|]+) \|")


def _docs_path(path: str) -> str:
    """A path as the docs' tables write it: relative to ``/api/v1`` for the API, any
    parameter name (``{member_id}`` is ``{id}`` there)."""
    return re.sub(r"\{[^}]*\}", "{}", path.removeprefix(API))


def _docs_roles(operation: Operation) -> str:
    if operation.roles is None:
        return "anyone, no key"
    return ", ".join(role.value for role in Role if role in operation.roles)


def test_the_role_column_of_docs_api_md_is_the_code_s() -> None:
    """``wrong`` maps a row to (the docs' roles, the code's); ``missing`` lists the
    operations without a row, with the roles to write."""
    operations = role_matrix(create_app("sqlite+aiosqlite:///:memory:"))
    expected = {(op.method, _docs_path(op.path)): _docs_roles(op) for op in operations}
    rows = [_DOCS_ROW.match(line) for line in API_DOCS.read_text().splitlines()]
    documented = [(m[1], _docs_path(m[2]), m[3].strip()) for m in rows if m is not None]
    keys = [(method, path) for method, path, _ in documented]
    assert sorted(key for key in set(keys) if keys.count(key) > 1) == []
    wrong = {
        f"{method} {path}": (roles, expected.get((method, path), "no such operation"))
        for method, path, roles in documented
        if expected.get((method, path)) != roles
    }
    missing = [
        f"{method} {path}: {roles}"
        for (method, path), roles in expected.items()
        if (method, path) not in keys
    ]
    assert (wrong, missing) == ({}, [])


def test_docs_api_md_names_each_role_once() -> None:
    lines = API_DOCS.read_text().split("## Roles", 1)[1].split("##", 1)[0].splitlines()
    named = [line.split("|")[1].strip() for line in lines if line.startswith("| ")][1:]
    assert named == list(ROLES)


# --- calling every entry ---------------------------------------------------------------


@dataclass
class Prepared:
    """The data the samples name, made once through the API as admin: ``values`` by name,
    and ``pools`` of objects that a call uses up (one is drawn per call)."""

    client: httpx.AsyncClient
    database: Database
    keys: dict[str, str]
    values: dict[str, int | str] = field(default_factory=dict)
    pools: dict[str, list[int | str]] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def draw(self) -> _Drawn:
        return _Drawn(self, n=next(self.counter))

    async def send(
        self, method: str, path: str, sample: Sample, drawn: _Drawn, authorization: str | None
    ) -> httpx.Response:
        headers = drawn.fill(sample.headers) or {}
        if authorization is not None:
            headers["Authorization"] = authorization
        return await self.client.request(
            method,
            drawn.fill(sample.path or path),
            headers=headers,
            json=drawn.fill(sample.json),
            data=drawn.fill(sample.form),
            params=drawn.fill(sample.query),
            content=sample.content,
        )


class _Drawn(dict[str, int | str]):
    """The values of one call: ``n``, the prepared values, and one object from each pool the
    call names (drawn on first use, the same for the rest of the call)."""

    def __init__(self, prepared: Prepared, *, n: int) -> None:
        super().__init__(n=n)
        self.prepared = prepared

    def __missing__(self, name: str) -> int | str:
        pools = self.prepared.pools
        self[name] = pools[name].pop() if name in pools else self.prepared.values[name]
        return self[name]

    def fill(self, template: Any) -> Any:
        if isinstance(template, Ref):
            return self[template.name]
        if isinstance(template, str):
            return template.format_map(self)
        if isinstance(template, dict):
            return {key: self.fill(value) for key, value in template.items()}
        if isinstance(template, list):
            return [self.fill(value) for value in template]
        return template


POOLS = {
    "code": 12,
    "token": 3,
    "open_ticket": 3,
    "active_member": 2,
    "blocked_member": 2,
    "erasable_member": 2,
    "removable_webhook": 2,
    "removable_key": 2,
}


async def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def _prepare(prepared: Prepared) -> None:
    """Everything the samples name, through the API as admin: a member with 2,500 points
    (a purchase 20 days ago: out of its 14 pending days) and his purchase, coupons, tickets,
    a review, an API survey with links, members to block and blocked ones."""
    api = prepared.client
    admin = {"Authorization": f"Bearer {prepared.keys['admin']}"}

    async def post(path: str, body: Any, status: int = 201) -> dict[str, Any]:
        return await _ok(await api.post(API + path, json=body, headers=admin), status)

    member = await post("/members", {"external_id": "main", "phone": "+48601000001"})
    member_id = int(member["id"])
    prepared.values.update(member_id=member_id, external_id="main", version=1, key="nps")
    funding = {**_purchase("fund", rubles=20_000, days_ago=20), "member_id": member_id}
    prepared.values["purchase_id"] = (await post("/purchases", funding))["id"]
    bill = {"external_id": "matrix-bill", "member_external_id": "main", "amount": "500.00"}
    await post(f"/partners/{PARTNER_ID}/purchases", bill)
    coupons = [
        await post("/redemptions", {"member_id": member_id, "reward_code": "DISC10"})
        for _ in range(POOLS["code"])
    ]
    prepared.pools["code"] = [coupon["coupon_code"] for coupon in coupons]
    ticket = {**_TICKET, "member_id": member_id, "text": "t"}
    prepared.values["ticket_id"] = (await post("/tickets", ticket))["id"]
    prepared.pools["open_ticket"] = [
        (await post("/tickets", ticket))["id"] for _ in range(POOLS["open_ticket"])
    ]
    prepared.pools["removable_key"] = [
        (await post("/keys", {"name": f"spare-{n}", "role": "pos"}))["id"]
        for n in range(POOLS["removable_key"])
    ]
    staff = {"Authorization": f"Bearer {prepared.keys['staff']}"}
    for name in ("goodwill_to_approve", "goodwill_to_reject"):
        asked = {"points": 501, "reason": "waits for an admin", "idempotency_key": name}
        prepared.values[f"{name}_ticket"] = ticket_id = (await post("/tickets", ticket))["id"]
        path = f"{API}/tickets/{ticket_id}/goodwill"
        waiting = await _ok(await api.post(path, json=asked, headers=staff), 201)
        assert waiting["status"] == "pending_approval", waiting
        prepared.values[name] = waiting["id"]
    review = {"member_id": member_id, "rating": 5, "text": "good"}
    prepared.values["review_id"] = (await post("/reviews", review))["id"]
    await post("/surveys", NPS_SURVEY)
    prepared.pools["token"] = [
        (
            await post(
                "/surveys/nps/invitations", {"member_ids": [member_id], "source_ref": f"l{n}"}, 200
            )
        )["invitations"][0]["token"]
        for n in range(POOLS["token"])
    ]
    for pool in ("active_member", "blocked_member", "erasable_member"):
        members = [
            await post("/members", {"external_id": f"{pool}-{n}"}) for n in range(POOLS[pool])
        ]
        prepared.pools[pool] = [m["id"] for m in members]
    for blocked in prepared.pools["blocked_member"]:
        await post(f"/members/{blocked}/block", {"reason": "test"}, 200)
    referrer = await post("/members", {"external_id": "referrer", "email": "r@example.org"})
    for name in ("referral_to_approve", "referral_to_reject"):
        referee = {"external_id": name, "email": "r@example.org"}
        referee["referral_code"] = referrer["referral_code"]
        await post("/members", referee)
    flagged = await api.get(f"{API}/referrals", params={"status": "flagged"}, headers=admin)
    first, second = (await _ok(flagged, 200))["items"]
    prepared.values.update(referral_to_approve=first["id"], referral_to_reject=second["id"])
    hook = {"url": "https://8.8.8.8/hooks/main", "events": ["tiers.changed"]}
    prepared.values["webhook_id"] = (await post("/webhooks", hook))["id"]
    prepared.pools["removable_webhook"] = [
        (await post("/webhooks", hook))["id"] for _ in range(POOLS["removable_webhook"])
    ]
    prepared.values["delivery_id"] = await _a_delivery(prepared.database)
    async with prepared.database.write() as session:
        key = await tokens.signing_key(session, utcnow())
    prepared.values["unsubscribe"] = tokens.make_token(key, member_id, "email")
    expires_at = card.expiry_of_new_token(utcnow())
    prepared.values["card_token"] = card.sign_card_token(
        key, member_id=member_id, expires_at=expires_at
    )


async def _a_delivery(database: Database) -> int:
    """A delivery to the webhooks made above: an event dispatched to the webhook handler."""
    envelope = EventEnvelope(
        id=1,
        type="tiers.changed",
        version=1,
        program_id=None,
        member_id=None,
        occurred_at=utcnow(),
        data={"member_id": 1},
    )
    async with database.write() as session:
        await queue_deliveries(session, envelope)
        return int(await session.scalar(select(func.min(WebhookDelivery.id))) or 0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def prepared(database_url_for_tests: str) -> AsyncIterator[Prepared]:
    async with prepared_app(database_url_for_tests) as ready:
        yield ready


@asynccontextmanager
async def prepared_app(database_url: str) -> AsyncIterator[Prepared]:
    """The app on ``database_url`` with the samples' data made (:func:`_prepare`), emptied
    afterwards (the module fixture here; ``test_edge_values.py`` has its own)."""
    database = Database(database_url)
    app = create_app(database.url)
    app.state.database = database
    keys: dict[str, str] = {}
    async with database.write() as session:
        await program_service.apply_program(
            session, text=CAMPAIGNS_PROGRAM.read_text(), created_by="test"
        )
        for role in Role:
            created = await access_service.create_key(
                session,
                name=f"matrix-{role}",
                role=role,
                now=utcnow(),
                partner_id=PARTNER_ID if role is Role.PARTNER else None,
            )
            keys[role.value] = created.key
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as client:
            prepared = Prepared(client=client, database=database, keys=keys)
            await _prepare(prepared)
            yield prepared
    finally:
        await _empty_all_tables(database)
        await database.dispose()


# bookkeeping a refused call may still write: a key's last use (the key was valid, its role
# was refused), written in a unit of work of its own after the request
_NOT_COMPARED = {"api_keys": "last_used_at"}


async def _snapshot(database: Database) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows."""
    tables: dict[str, tuple[int, str]] = {}
    async with database.read() as session:
        for table in Base.metadata.sorted_tables:
            skipped = _NOT_COMPARED.get(table.name)
            columns = ", ".join(f'"{c.name}"' for c in table.columns if c.name != skipped)
            rows = (await session.execute(text(f'SELECT {columns} FROM "{table.name}"'))).all()
            digest = hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()
            tables[table.name] = (len(rows), digest)
    return tables


def _refusals(entry: Entry, keys: dict[str, str]) -> dict[str, tuple[str | None, int, str]]:
    """Who is refused, with the authorization they send and the status and code expected."""
    refused: dict[str, tuple[str | None, int, str]] = {
        "anonymous": (None, 401, "missing_api_key"),
        "unknown key": ("Bearer not-a-patron-key", 401, "invalid_api_key"),
    }
    for role in ROLES:
        if role not in entry.roles:
            refused[role] = (f"Bearer {keys[role]}", 403, "forbidden")
    return refused


def _error_code(response: httpx.Response) -> str:
    """The error's code, or the start of whatever else was answered."""
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return response.text[:80]


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("method", "path"), list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
async def test_entry(prepared: Prepared, method: str, path: str) -> None:
    entry = MATRIX[(method, path)]
    if entry.roles:
        refused = _refusals(entry, prepared.keys)
        drawn = prepared.draw()
        before = await _snapshot(prepared.database)
        answers = {}
        for who, (authorization, _, _) in refused.items():
            response = await prepared.send(method, path, entry.sample, drawn, authorization)
            answers[who] = (response.status_code, _error_code(response))
        assert answers == {who: (status, code) for who, (_, status, code) in refused.items()}
        assert await _snapshot(prepared.database) == before
    callers = {role: f"Bearer {prepared.keys[role]}" for role in sorted(entry.roles)}
    for who, authorization in (callers or {"anonymous": None}).items():
        response = await prepared.send(method, path, entry.sample, prepared.draw(), authorization)
        assert response.status_code == entry.sample.status, (who, response.text)
