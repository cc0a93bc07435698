"""Options every command shares, and the helpers that run async services from a command."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.kit.db import Database
from patron.kit.errors import PatronError
from patron.kit.time import parse_instant, utcnow

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL or SQLite file path. Default: $PATRON_DATABASE_URL, else ./patron.db.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def instant(value: str | None, option: str = "--now") -> datetime:
    """``value`` (an ISO 8601 time, UTC unless a zone is given) as a moment; None: now."""
    if value is None:
        return utcnow()
    try:
        return parse_instant(value)
    except ValueError as error:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from error


@contextmanager
def patron_errors_exit() -> Iterator[None]:
    """A Patron error inside the block becomes a message on stderr and exit code 1."""
    try:
        yield
    except PatronError as error:
        field = f" ({error.field})" if error.field else ""
        typer.echo(f"error: {error.code}{field}: {error.message}", err=True)
        raise typer.Exit(1) from error


def run(coroutine: Awaitable[T]) -> T:
    """Run a coroutine; a Patron error becomes a message on stderr and exit code 1."""

    async def wrapped() -> T:
        return await coroutine

    with patron_errors_exit():
        return asyncio.run(wrapped())


async def in_unit_of_work(
    url: str | None, work: Callable[[AsyncSession], Awaitable[T]], *, write: bool = True
) -> T:
    """Open the database (creating or upgrading its schema), run ``work`` in one unit of work
    that commits on success, and close the database."""
    from patron.migrations import upgrade_schema

    database = Database(url)
    try:
        await upgrade_schema(database.url)
        unit = database.write() if write else database.read()
        async with unit as session:
            return await work(session)
    finally:
        await database.dispose()


async def audited(session: AsyncSession, *, action: str, target: str) -> None:
    """Record the operator's write in the audit log (actor ``cli``), in the command's unit of
    work; the action names are those of the API's same write (``program.apply_program``)."""
    await audit_service.record(
        session, actor=audit_service.ACTOR_CLI, action=action, target=target, now=utcnow()
    )


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def read_text_file(path: Path | str) -> str:
    """The text of the UTF-8 file ``path``; a file that cannot be read, or is not UTF-8 text
    (a binary file, a legacy code page), is a message on stderr and exit code 2."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        typer.echo(f"error: cannot read {path}: {error.strerror}", err=True)
        raise typer.Exit(2) from error
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        where = f"byte 0x{byte:02x} at offset {error.start}"
        typer.echo(f"error: {path} is not UTF-8 text ({where})", err=True)
        raise typer.Exit(2) from error


ROW_ID_MAX = 2**63 - 1
"""The largest id a row can have (a 64-bit integer column): the bound of every id argument,
so that a larger number is click's range error (exit 2), not the driver's overflow."""
