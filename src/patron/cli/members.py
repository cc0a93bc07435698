"""``patron members``: a member's personal data: export and erasure."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.cli.options import DbOption, JsonOption, audited, in_unit_of_work, print_json, run
from patron.kit.time import utcnow
from patron.privacy import service as privacy_service
from patron.privacy.schemas import Erasure, MemberExport

app = typer.Typer(help="A member's personal data: export and erasure.", no_args_is_help=True)

MemberArgument = Annotated[
    int, typer.Argument(min=1, help="The member's id (not the shop's external id).")
]


@app.command("export")
def export(member_id: MemberArgument, db: DbOption = None, json_output: JsonOption = False) -> None:
    """Everything Patron holds about the member. With --json the whole export as JSON (the
    same document as GET /api/v1/members/ID/export); without, the profile and the number of
    rows in each section. The export is recorded in the audit log."""

    async def work(session: AsyncSession) -> MemberExport:
        found = await privacy_service.export_member(session, member_id=member_id, now=utcnow())
        audit_service.note(session, changed=False)
        await audited(session, action="members.export", target=f"member:{member_id}")
        return found

    exported = run(in_unit_of_work(db, work))
    document = exported.model_dump(mode="json")
    if json_output:
        print_json(document)
        return
    typer.echo(f"member {member_id}, exported {document['exported_at']}")
    for field, value in document["profile"].items():
        typer.echo(f"  {field:<20} {value}")
    for section, rows in document.items():
        if isinstance(rows, list):
            typer.echo(f"  {section:<20} {len(rows)} row(s)")


@app.command("erase")
def erase(
    member_id: MemberArgument,
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: erasure cannot be undone.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Erase the member's personal data (name, contacts, birth date, attributes, the free text
    of tickets, reviews and answers) and keep the member as a pseudonym, so that the ledger,
    the purchases and the KPIs stay whole. Refused without --yes. Running it again changes
    nothing. Recorded in the audit log."""
    if not yes:
        typer.echo(
            f"error: erasing member {member_id} cannot be undone; run again with --yes",
            err=True,
        )
        raise typer.Exit(2)

    async def work(session: AsyncSession) -> Erasure:
        erased = await privacy_service.erase_member(session, member_id=member_id, now=utcnow())
        await audited(session, action="members.erase", target=f"member:{member_id}")
        return erased

    erasure = run(in_unit_of_work(db, work))
    if json_output:
        print_json(erasure.model_dump(mode="json"))
        return
    typer.echo(
        f"member {erasure.member_id} erased at {erasure.erased_at.isoformat()}; "
        f"it remains as the pseudonym {erasure.external_id}"
    )
