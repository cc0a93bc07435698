"""``patron audit``: the audit log."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.audit.schemas import AuditEntry, AuditPage
from patron.cli.options import ROW_ID_MAX, DbOption, JsonOption, in_unit_of_work, print_json, run


def audit(
    db: DbOption = None,
    json_output: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many rows.")] = 50,
    after: Annotated[
        int | None,
        typer.Option(min=0, max=ROW_ID_MAX, help="Rows older than this id (a page's next_after)."),
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, e.g. members.erase.")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Only this target, e.g. member:5.")] = None,
) -> None:
    """The audit log, newest first: every write by a staff or admin API key and by this CLI
    (program apply, keys, erasure), with who, what, when, and for program changes and point
    adjustments the before and after."""

    async def work(session: AsyncSession) -> AuditPage:
        return await audit_service.list_entries(
            session, after=after, limit=limit, action=action, target=target
        )

    page = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(page.model_dump(mode="json"))
        return
    for entry in page.items:
        typer.echo(_line(entry))
    if page.next_after is not None:
        typer.echo(f"(more: --after {page.next_after})")


def _line(entry: AuditEntry) -> str:
    who = "cli" if entry.key_id is None else f"key {entry.key_id} ({entry.role})"
    line = f"{entry.id:>6}  {entry.occurred_at:%Y-%m-%d %H:%M:%S}  {who:<18} {entry.action:<28}"
    line += f" {entry.target}"
    if not entry.changed:
        line += "  (no change)"
    if entry.before is not None or entry.after is not None:
        line += f"  before={entry.before} after={entry.after}"
    return line
