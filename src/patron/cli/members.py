"""``patron members``: a member's personal data (export and erasure) and abuse flags (the
flagged members, clearing a flag)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.cli.options import DbOption, JsonOption, audited, in_unit_of_work, print_json, run
from patron.kit.time import utcnow
from patron.members import flags
from patron.members import service as member_service
from patron.members.overview import MemberOverview, member_overview
from patron.members.schemas import MemberPage
from patron.privacy import service as privacy_service
from patron.privacy.schemas import Erasure, MemberExport
from patron.programs import service as program_service

app = typer.Typer(
    help="A member's personal data (export, erasure) and abuse flags (flagged, unflag).",
    no_args_is_help=True,
)
ProgramKey = Annotated[
    str, typer.Option("--program", help="Program key (one database may hold several).")
]

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


@app.command("flagged")
def flagged(
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 100,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """Members with an open abuse flag, in id order, with their flags (the same members as
    GET /api/v1/members?flagged=true; docs/security.md, "Abuse controls")."""

    async def work(session: AsyncSession) -> list[MemberOverview]:
        active = await program_service.get_active_program(session, key=program)
        page: MemberPage = await member_service.list_members(
            session, program_id=active.program_id, limit=limit, flagged=True
        )
        now = utcnow()
        return [await member_overview(session, member_id=m.id, now=now) for m in page.items]

    members = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json([member.model_dump(mode="json") for member in members])
        return
    if not members:
        typer.echo("no flagged members")
    for member in members:
        reasons = ", ".join(f"{flag.reason} {flag.details}" for flag in member.flags)
        typer.echo(f"{member.id}  {member.external_id}  {member.status.value}  {reasons}")


@app.command("unflag")
def unflag(member_id: MemberArgument, db: DbOption = None) -> None:
    """Clear the member's open abuse flags (they stay recorded); a block set with a flag
    stays. Running it again changes nothing. Recorded in the audit log."""

    async def work(session: AsyncSession) -> int:
        cleared = await flags.clear_flags(session, member_id=member_id, now=utcnow())
        await audited(session, action="members.unflag", target=f"member:{member_id}")
        return cleared

    cleared = run(in_unit_of_work(db, work))
    typer.echo(f"member {member_id}: {cleared} flag(s) cleared")
