"""Console users: hashing, login, sessions and disabling, on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from patron.access import users
from patron.access.errors import (
    InvalidEmailError,
    LoginFailedError,
    PasswordTooShortError,
    UserExistsError,
    UserNotFoundError,
)
from patron.access.models import Role, User, UserSession
from patron.kit.db import Database
from patron.kit.time import utcnow

PASSWORD = "correct horse battery"


async def _create(database: Database, email: str = "Ann@Shop.example", role: Role = Role.STAFF):
    async with database.write() as session:
        return await users.create_user(
            session, email=email, role=role, password=PASSWORD, now=utcnow()
        )


async def test_a_user_is_stored_with_an_argon2id_hash_and_a_normalised_email(
    database: Database,
) -> None:
    created = await _create(database)
    assert created.email == "ann@shop.example"
    assert created.role is Role.STAFF
    assert created.is_active
    async with database.read() as session:
        stored = (await session.execute(select(User.password_hash))).scalar_one()
        listed = await users.list_users(session)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert [user.email for user in listed] == ["ann@shop.example"]


async def test_bad_input_is_refused_and_writes_nothing(database: Database) -> None:
    await _create(database)
    with pytest.raises(UserExistsError):
        await _create(database, email=" ANN@shop.example ")
    async with database.write() as session:
        with pytest.raises(PasswordTooShortError):
            await users.create_user(
                session, email="b@shop.example", role=Role.ADMIN, password="short", now=utcnow()
            )
        with pytest.raises(InvalidEmailError):
            await users.create_user(
                session, email="not-an-email", role=Role.ADMIN, password=PASSWORD, now=utcnow()
            )
    async with database.read() as session:
        assert (await session.execute(select(func.count()).select_from(User))).scalar_one() == 1


async def test_login_starts_a_session_that_the_token_finds(database: Database) -> None:
    await _create(database)
    now = utcnow()
    async with database.write() as session:
        started = await users.log_in(session, email="ANN@shop.example", password=PASSWORD, now=now)
    assert started.token
    assert started.csrf_token
    async with database.read() as session:
        found = await users.current_session(session, token=started.token, now=now)
        stored_hash = (await session.execute(select(UserSession.token_hash))).scalar_one()
        unknown = await users.current_session(session, token="x" * 43, now=now)
        late = await users.current_session(
            session, token=started.token, now=now + timedelta(hours=users.SESSION_HOURS, seconds=1)
        )
    assert found is not None
    assert found.user.email == "ann@shop.example"
    assert found.csrf_token == started.csrf_token
    assert found.token is None
    assert stored_hash not in (started.token, started.csrf_token)  # only the hash is stored
    assert unknown is None
    assert late is None


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@shop.example", "wrong password!"), ("nobody@shop.example", PASSWORD)],
)
async def test_a_wrong_password_or_unknown_email_fails_alike(
    database: Database, email: str, password: str
) -> None:
    await _create(database)
    async with database.write() as session:
        with pytest.raises(LoginFailedError) as failure:
            await users.log_in(session, email=email, password=password, now=utcnow())
    assert failure.value.code == "login_failed"
    async with database.read() as session:
        sessions = (await session.execute(select(func.count()).select_from(UserSession))).scalar()
    assert sessions == 0


async def test_disabling_ends_sessions_and_refuses_login(database: Database) -> None:
    created = await _create(database)
    now = utcnow()
    async with database.write() as session:
        started = await users.log_in(session, email=created.email, password=PASSWORD, now=now)
    async with database.write() as session:
        disabled = await users.disable_user(session, user_id=created.id, now=now)
    assert not disabled.is_active
    assert started.token is not None
    async with database.write() as session:
        assert await users.current_session(session, token=started.token, now=now) is None
        with pytest.raises(LoginFailedError):
            await users.log_in(session, email=created.email, password=PASSWORD, now=now)
        with pytest.raises(UserNotFoundError):
            await users.disable_user(session, user_id=created.id + 100, now=now)


async def test_logout_deletes_the_session(database: Database) -> None:
    created = await _create(database)
    now = utcnow()
    async with database.write() as session:
        started = await users.log_in(session, email=created.email, password=PASSWORD, now=now)
    assert started.token is not None
    async with database.write() as session:
        await users.log_out(session, token=started.token)
    async with database.read() as session:
        assert await users.current_session(session, token=started.token, now=now) is None
