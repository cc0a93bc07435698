"""``patron program``: validate, apply and show the program file (program-as-code)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from patron.campaigns.prizes import commit_active_seeds
from patron.cli.options import (
    DbOption,
    JsonOption,
    audited,
    in_unit_of_work,
    print_json,
    read_text_file,
    run,
)
from patron.kit.time import utcnow
from patron.programs import service as program_service
from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from patron.programs.schemas import AppliedProgram, ProgramVersionDetail

if TYPE_CHECKING:
    from patron.products.service import CatalogueWarning
    from patron.programs.schema import Program

app = typer.Typer(help="Validate, apply and show the loyalty program.", no_args_is_help=True)

FileArgument = Annotated[Path, typer.Argument(help="The program YAML file.", show_default=False)]
KeyOption = Annotated[
    str, typer.Option("--key", help="Program key (one database may hold several).")
]


def _invalid(path: Path, error: ProgramInvalidError, json_output: bool) -> typer.Exit:
    if json_output:
        print_json(
            {
                "valid": False,
                "errors": [
                    {"path": p.path, "message": p.message, "line": p.line} for p in error.problems
                ],
            }
        )
    else:
        typer.echo(f"{path}: {len(error.problems)} problem(s)", err=True)
        for line in error.format_errors():
            typer.echo(f"  {line}", err=True)
    return typer.Exit(2)


def _catalogue_warnings(db: str | None, key: str, program: Program) -> list[CatalogueWarning]:
    """What the catalogue of ``key`` in ``db`` says about the program's SKUs and categories
    (nothing without a database: a SQLite file that does not exist is not created)."""
    from patron.kit.db import database_url
    from patron.products.service import catalogue_warnings

    if db is None and not os.environ.get("PATRON_DATABASE_URL"):
        return []
    url = database_url(db)
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return []

    async def work(session: AsyncSession) -> list[CatalogueWarning]:
        return await catalogue_warnings(session, program_key=key, program=program)

    return run(in_unit_of_work(db, work, write=False))


@app.command("validate")
def validate(
    file: FileArgument,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Also check the SKUs and categories the file names against the product "
            "catalogue of this database (default: $PATRON_DATABASE_URL if set).",
            show_default=False,
        ),
    ] = None,
    key: KeyOption = "default",
    json_output: JsonOption = False,
) -> None:
    """Check a program file. Exit 0 when valid; exit 2 listing every problem with its path.
    With a database whose program has a product catalogue, a SKU or category the rules or
    rewards name that the catalogue does not know is a warning (exit 0); so is a deferred
    effect that is accepted but not applied yet (none today)."""
    text = read_text_file(file)
    try:
        program = load_program(text)
    except ProgramInvalidError as error:
        raise _invalid(file, error, json_output) from error
    from patron.campaigns.deferred import not_applied_warnings

    warnings = [(w.path, w.message) for w in _catalogue_warnings(db, key, program)]
    warnings += not_applied_warnings(program)
    if json_output:
        print_json(
            {
                "valid": True,
                "name": program.program.name,
                "currency": program.currency,
                "warnings": [{"path": path, "message": message} for path, message in warnings],
            }
        )
    else:
        for path, message in warnings:
            typer.echo(f"warning: {path}: {message}", err=True)
        rules, rewards = len(program.earning.rules), len(program.rewards)
        levels = len(program.tiers.levels) if program.tiers else 0
        typer.echo(
            f"{file}: valid — '{program.program.name}', {program.currency}, "
            f"{rules} earn rules, {levels} tiers, {rewards} rewards"
        )


@app.command("apply")
def apply(
    file: FileArgument,
    db: DbOption = None,
    key: KeyOption = "default",
    json_output: JsonOption = False,
) -> None:
    """Store the file as the program's new active version and print what changed."""
    text = read_text_file(file)
    try:
        load_program(text)
    except ProgramInvalidError as error:
        raise _invalid(file, error, json_output) from error

    async def work(session: AsyncSession) -> AppliedProgram:
        applied = await program_service.apply_program(session, text=text, key=key, created_by="cli")
        await commit_active_seeds(session, program_key=key, now=utcnow())
        await audited(session, action="program.apply_program", target=f"program:{key}")
        return applied

    applied = run(in_unit_of_work(db, work))
    if json_output:
        print_json(applied.model_dump(mode="json"))
        return
    if applied.status.value == "unchanged":
        typer.echo(f"program '{key}' unchanged (version {applied.version} is identical)")
    elif applied.status.value == "created":
        typer.echo(f"program '{key}' created: version {applied.version} is active")
    else:
        typer.echo(
            f"program '{key}': version {applied.version} replaces {applied.previous_version}"
        )
        for change in applied.changes:
            typer.echo(f"  {change}")


@app.command("show")
def show(
    db: DbOption = None,
    key: KeyOption = "default",
    version: Annotated[
        int | None,
        typer.Option(min=1, max=2**31 - 1, help="A past version (default: the active one)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Print the active (or a given) version of the program as YAML."""

    async def work(session: AsyncSession) -> ProgramVersionDetail:
        number = version
        if number is None:
            number = (await program_service.get_active_program(session, key=key)).version
        return await program_service.get_version(session, key=key, version=number)

    detail = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(detail.model_dump(mode="json"))
        return
    typer.echo(
        f"# program '{detail.key}' version {detail.version}"
        f"{' (active)' if detail.is_active else ''}, applied {detail.created_at:%Y-%m-%d %H:%M} UTC"
    )
    typer.echo(yaml.safe_dump(detail.document, sort_keys=False, allow_unicode=True).rstrip())
