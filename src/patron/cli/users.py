"""``patron users``: the people who log in to the web console (``/admin``)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access import users as user_service
from patron.access.models import Role
from patron.access.schemas import UserRead
from patron.cli.options import DbOption, JsonOption, audited, in_unit_of_work, print_json, run
from patron.kit.time import utcnow

app = typer.Typer(help="Create, list, disable and enable console users.", no_args_is_help=True)


class ConsoleRole(StrEnum):
    """The roles a console user may have (the API keys' roles of people, not tills)."""

    ADMIN = "admin"
    STAFF = "staff"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


def _row(user: UserRead) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role.value,
        "created_at": user.created_at.isoformat(),
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


@app.command("create")
def create(
    email: Annotated[str, typer.Option(help="The user's email, which is the login.")],
    role: Annotated[ConsoleRole, typer.Option(help="admin or staff.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a console user. Asks for the password (twice) unless --password-stdin; at least
    10 characters. The password is stored only as an argon2id hash."""
    password = _password(password_stdin)

    async def work(session: AsyncSession) -> UserRead:
        created = await user_service.create_user(
            session, email=email, role=Role(role.value), password=password, now=utcnow()
        )
        await audited(session, action="users.create", target=f"user:{created.id}")
        return created

    created = run(in_unit_of_work(db, work))
    typer.echo(f"created {created.role.value} user {created.email} (id {created.id})")


@app.command("list")
def list_users(db: DbOption = None, json_output: JsonOption = False) -> None:
    """List console users (never their passwords)."""

    async def work(session: AsyncSession) -> list[UserRead]:
        return await user_service.list_users(session)

    rows = [_row(user) for user in run(in_unit_of_work(db, work, write=False))]
    if json_output:
        print_json(rows)
        return
    for row in rows:
        state = "disabled" if row["disabled_at"] else "active"
        typer.echo(f"{row['id']:>4}  {row['role']:<6} {state:<8} {row['email']}")


def _switch(user: str, db: str | None, *, disable: bool) -> UserRead:
    async def work(session: AsyncSession) -> UserRead:
        found = await user_service.find_user(session, email_or_id=user)
        if disable:
            changed = await user_service.disable_user(session, user_id=found.id, now=utcnow())
        else:
            changed = await user_service.enable_user(session, user_id=found.id)
        action = "users.disable" if disable else "users.enable"
        await audited(session, action=action, target=f"user:{found.id}")
        return changed

    return run(in_unit_of_work(db, work))


UserArgument = Annotated[str, typer.Argument(help="The user's id or email (see 'users list').")]


@app.command("disable")
def disable(user: UserArgument, db: DbOption = None) -> None:
    """Disable a user: their sessions end at once and they can no longer log in."""
    changed = _switch(user, db, disable=True)
    typer.echo(f"disabled user {changed.email}")


@app.command("enable")
def enable(user: UserArgument, db: DbOption = None) -> None:
    """Enable a disabled user again."""
    changed = _switch(user, db, disable=False)
    typer.echo(f"enabled user {changed.email}")
