"""``patron members``: one member as the API shows it (``show``), a member's personal data
(export and erasure) and abuse flags (the flagged members, clearing a flag)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.challenges import service as challenge_service
from patron.challenges.schemas import ChallengeProgressRead, CompletionRead, MemberDetail
from patron.cli.options import (
    ROW_ID_MAX,
    DbOption,
    JsonOption,
    audited,
    in_unit_of_work,
    instant,
    print_json,
    run,
)
from patron.kit.time import utcnow
from patron.ledger import service as ledger_service
from patron.ledger.schemas import Entry
from patron.members import flags
from patron.members import service as member_service
from patron.members.overview import (
    MemberOverview,
    member_overview,
    member_overview_by_external_id,
)
from patron.members.schemas import MemberPage
from patron.privacy import service as privacy_service
from patron.privacy.schemas import Erasure, MemberExport
from patron.programs import service as program_service
from patron.programs.errors import ProgramNotFoundError
from patron.wallet import service as wallet_service

app = typer.Typer(
    help="One member (show), a member's personal data (export, erasure) and abuse flags "
    "(flagged, unflag).",
    no_args_is_help=True,
)
ProgramKey = Annotated[
    str, typer.Option("--program", help="Program key (one database may hold several).")
]

MemberArgument = Annotated[
    int, typer.Argument(min=1, max=ROW_ID_MAX, help="The member's id (not the shop's external id).")
]


class WalletBalance(BaseModel):
    """The member's cashback wallet: its balance as ``GET /members/{id}/wallet`` gives it."""

    currency: str
    balance: str


class MemberShown(MemberDetail):
    """What ``patron members show`` prints: the document of ``GET /members/{id}`` (identity,
    tier, points, flags, challenges, badges) with the ``wallet``, the ``completions`` of
    ``GET /members/{id}/challenges`` and the newest ledger ``entries`` (newest first)."""

    wallet: WalletBalance
    completions: list[CompletionRead]
    entries: list[Entry]


async def _shown(
    session: AsyncSession, member: MemberOverview, *, now: datetime, entries: int
) -> MemberShown:
    detail = await challenge_service.member_detail(session, member, now)
    active = await challenge_service.program_of(session, member.program_id)
    if active is None:  # cannot happen: a member's program row stays
        raise ProgramNotFoundError(f"member {member.id} has no program", field="program_id")
    wallet = await wallet_service.wallet_page(
        session, member_id=member.id, currency=active.program.currency, limit=1
    )
    ledger = await ledger_service.entries(session, member_id=member.id, limit=entries)
    return MemberShown(
        **dict(detail),
        wallet=WalletBalance(currency=wallet.currency, balance=wallet.balance),
        completions=await challenge_service.member_completions(session, member_id=member.id),
        entries=ledger.items,
    )


def _progress(challenge: ChallengeProgressRead) -> str:
    if challenge.goal == "streak":
        done = f"{challenge.count} of {challenge.target} weeks in a row"
    else:
        done = f"{challenge.count} of {challenge.target} ({challenge.period_key})"
    if challenge.completed_at is not None:
        done += f", completed {challenge.completed_at.isoformat()}, {challenge.points} points"
    badge = f", badge {challenge.badge}" if challenge.badge else ""
    return f"  {challenge.key}  {challenge.name}: {done}{badge}"


def _print(member: MemberShown) -> None:
    name = f"  {member.name}" if member.name else ""
    typer.echo(f"member {member.id}  {member.external_id}{name}  {member.status.value}")
    typer.echo(f"tier: {member.tier or 'none'}")
    points = member.points
    typer.echo(
        f"points: {points.available} available, {points.pending} pending, "
        f"{points.lifetime_earned} earned, {points.redeemed} redeemed, "
        f"{points.expired} expired, {points.debt} debt"
    )
    typer.echo(f"wallet: {member.wallet.balance} {member.wallet.currency}")
    if member.blocked_reason:
        typer.echo(f"blocked: {member.blocked_reason}")
    for flag in member.flags:
        figures = " ".join(f"{name}={value}" for name, value in sorted(flag.details.items()))
        blocked = ", blocked" if flag.blocked else ""
        typer.echo(f"flag: {flag.reason} {figures} ({flag.created_at.isoformat()}{blocked})")
    typer.echo("challenges:" if member.challenges else "challenges: none")
    for challenge in member.challenges:
        typer.echo(_progress(challenge))
    typer.echo("badges:" if member.badges else "badges: none")
    for badge in member.badges:
        typer.echo(
            f"  {badge.key}  {badge.name} (challenge {badge.challenge_key}), "
            f"{badge.earned_at.isoformat()}"
        )
    typer.echo("recent entries:" if member.entries else "recent entries: none")
    for entry in member.entries:
        typer.echo(
            f"  {entry.id}  {entry.created_at.isoformat()}  {entry.kind.value}  {entry.amount:+d}"
            f"  {entry.source_type}:{entry.source_id}  {entry.description}"
        )


@app.command("show")
def show(
    member_id: Annotated[
        int | None,
        typer.Argument(
            min=1,
            max=ROW_ID_MAX,
            help="The member's id (or give --external-id).",
            show_default=False,
        ),
    ] = None,
    external_id: Annotated[
        str | None,
        typer.Option("--external-id", help="The shop's id of the member (the card number)."),
    ] = None,
    entries: Annotated[
        int, typer.Option("--entries", min=1, max=500, help="How many recent ledger entries.")
    ] = 10,
    now: Annotated[
        str | None, typer.Option(help="As of this ISO time (default: now).", show_default=False)
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """One member: identity, tier, points (available, pending), wallet balance, abuse flags,
    challenges with their progress, badges and the recent ledger entries. The same figures as
    GET /api/v1/members/ID and its /challenges (--json: that document with `wallet`,
    `completions` and `entries`). An unknown member exits 1 (member_not_found)."""
    if (member_id is None) == (external_id is None):
        raise typer.BadParameter("give the member's ID or --external-id, not both")
    moment = instant(now)

    async def work(session: AsyncSession) -> MemberShown:
        if member_id is not None:
            member = await member_overview(session, member_id=member_id, now=moment)
        else:
            assert external_id is not None
            active = await program_service.get_active_program(session, key=program)
            member = await member_overview_by_external_id(
                session, program_id=active.program_id, external_id=external_id, now=moment
            )
        return await _shown(session, member, now=moment, entries=entries)

    shown = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(shown.model_dump(mode="json"))
        return
    _print(shown)


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
