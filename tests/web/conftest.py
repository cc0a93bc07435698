"""Console fixtures: the app on the test database with the seed program, an admin and a
staff user, and an HTTP client that logs in as a browser would (the login form's CSRF cookie
and token, then the session cookie)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest

from patron.access import users as user_service
from patron.access.models import Role
from patron.api.app import create_app
from patron.kit.db import Database
from patron.kit.time import utcnow
from patron.programs import service as program_service
from tests.conftest import SEED_PROGRAM
from tests.notifications.conftest import inbox, smtp_server  # noqa: F401 (fixtures)
from tests.web.browser import PASSWORD, USERS, browser, site  # noqa: F401 (fixtures)

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(page: str) -> str:
    found = _TOKEN.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Console:
    app: object
    database: Database
    base_url: str
    user_ids: dict[str, int]

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url=self.base_url)

    async def logged_in(self, role: str) -> tuple[httpx.AsyncClient, str]:
        """A client with a session of ``role``'s user, and the session's CSRF token."""
        client = self.client()
        answer = await log_in(client, USERS[role], PASSWORD)
        assert answer.status_code == 303, answer.text
        page = await client.get("/admin")
        return client, form_token(page.text)


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": form_token(page.text)},
    )


async def make_console(database: Database, base_url: str) -> Console:
    app = create_app(database.url)
    app.state.database = database
    ids: dict[str, int] = {}
    async with database.write() as session:
        await program_service.apply_program(
            session, text=SEED_PROGRAM.read_text(), created_by="test"
        )
        for role, email in USERS.items():
            created = await user_service.create_user(
                session, email=email, role=Role(role), password=PASSWORD, now=utcnow()
            )
            ids[role] = created.id
    return Console(app=app, database=database, base_url=base_url, user_ids=ids)


@pytest.fixture
async def console(database: Database) -> Console:
    """The console over plain HTTP on a loopback address (as the demo serves it)."""
    return await make_console(database, "http://127.0.0.1:8000")
