"""``patron backup FILE`` and ``patron restore FILE``: a whole database, copied while it serves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from patron.cli.options import DbOption, JsonOption, print_json, run
from patron.kit.backup import (
    BackupInvalidError,
    BackupReport,
    backup_database,
    inspect_backup,
    restore_database,
)
from patron.kit.db import database_url

FileArgument = Annotated[
    Path, typer.Argument(help="The backup file.", metavar="FILE", show_default=False)
]


def backup(
    file: FileArgument,
    db: DbOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace FILE if it exists (once the new copy is checked)."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Copy the whole database into FILE while the server keeps serving. The copy holds
    everything committed before the command started (one snapshot: SQLite's online backup API,
    or pg_dump --format=custom on PostgreSQL) and is checked before FILE is written. An
    existing FILE is refused unless --force."""
    url = database_url(db)
    report: BackupReport = run(backup_database(url, file, replace=force))
    if json_output:
        print_json(
            {
                "file": report.file,
                "bytes": report.size_bytes,
                "revision": report.revision,
                "seconds": round(report.seconds, 3),
            }
        )
        return
    typer.echo(
        f"backup of {_shown(url)} written to {report.file}: {report.size_bytes} bytes, "
        f"schema revision {report.revision}, {report.seconds:.1f} s"
    )


@dataclass(frozen=True, slots=True)
class _Restored:
    revision: str
    breaches: list[str]


def restore(
    file: FileArgument,
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Replace a database that holds data.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Restore the backup FILE into the database (created when missing), upgrade its schema
    to this Patron's newest migration and verify the ledger. Refuses a database that holds data
    unless --yes, and one that a running server or another session uses (stop it first). A
    missing or unreadable FILE changes nothing. Exits 1 if the ledger has a breach."""
    url = database_url(db)
    restored = run(_restore(url, file, replace=yes))
    from patron.migrations import HEAD_REVISION

    if json_output:
        print_json(
            {
                "file": str(file),
                "revision": restored.revision,
                "schema": HEAD_REVISION,
                "ok": not restored.breaches,
                "breaches": restored.breaches,
            }
        )
    else:
        upgraded = "" if restored.revision == HEAD_REVISION else f", upgraded to {HEAD_REVISION}"
        typer.echo(
            f"restored {file} into {_shown(url)}: schema revision {restored.revision}{upgraded}"
        )
        for breach in restored.breaches:
            typer.echo(f"BREACH {breach}")
        typer.echo(
            "ledger verified: no breach"
            if not restored.breaches
            else f"{len(restored.breaches)} breach(es)"
        )
    if restored.breaches:
        raise typer.Exit(1)


async def _restore(url: str, file: Path, *, replace: bool) -> _Restored:
    from patron.kit.db import Database
    from patron.kit.time import utcnow
    from patron.ledger.verify import verify
    from patron.migrations import HEAD_REVISION, is_known_revision, upgrade_schema
    from patron.purchases.wallet_pay import verify_paid
    from patron.wallet.verify import verify as verify_wallet

    revision = await inspect_backup(url, file)
    if not is_known_revision(revision):
        raise BackupInvalidError(
            f"{file} is at schema revision {revision}, unknown to this Patron (newest "
            f"{HEAD_REVISION}): restore it with the Patron version that made it",
            field="file",
        )
    await restore_database(url, file, replace=replace)
    await upgrade_schema(url)
    database = Database(url)
    try:
        async with database.read() as session:
            moment = utcnow()
            breaches = await verify(session, now=moment)
            breaches += await verify_wallet(session, now=moment)
            breaches += await verify_paid(session)
    finally:
        await database.dispose()
    return _Restored(
        revision,
        [
            f"{b.check.value}: member {b.member_id}, {b.subject}: "
            f"expected {b.expected}, found {b.actual}"
            for b in breaches
        ],
    )


def _shown(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True)
