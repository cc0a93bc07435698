"""API fixtures: the app on the test database, the seed program applied, one key per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from patron.access import service as access_service
from patron.access.models import Role
from patron.api.app import create_app
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.programs import service as program_service
from tests.conftest import SEED_PROGRAM

PARTNER_ID = "cafe-nord"  # the partner the ``partner`` key acts for


@dataclass
class Api:
    client: httpx.AsyncClient
    keys: dict[str, str]
    database: Database

    def as_role(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.keys[role]}"}

    async def call(
        self,
        method: str,
        path: str,
        role: str | None = "admin",
        *,
        headers: dict[str, str] | None = None,
        **kwargs: object,
    ) -> httpx.Response:
        sent = {**self.as_role(role), **(headers or {})}
        return await self.client.request(method, f"/api/v1{path}", headers=sent, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def api(database: Database) -> AsyncIterator[Api]:
    app = create_app(database.url)
    app.state.database = database
    keys: dict[str, str] = {}
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="test"
        )
        for role in Role:
            created = await access_service.create_key(
                session,
                name=f"test-{role}",
                role=role,
                now=utcnow(),
                partner_id=PARTNER_ID if role is Role.PARTNER else None,
            )
            keys[role.value] = created.key
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as client:
        yield Api(client=client, keys=keys, database=database)
