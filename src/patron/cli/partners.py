"""``patron partners``: the coalition's partners and their settlements (docs/partners.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.cli.options import DbOption, JsonOption, in_unit_of_work, print_json, run
from patron.kit.money import format_amount
from patron.kit.time import ensure_utc
from patron.partners import service as partner_service
from patron.partners import settlement as partner_settlement
from patron.partners.schemas import PartnerView, Settlement
from patron.programs import service as program_service

app = typer.Typer(help="Coalition partners: list, settlement.", no_args_is_help=True)

ProgramKey = Annotated[
    str, typer.Option("--program", help="Program key (one database may hold several).")
]
_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


@app.command("list")
def list_partners(
    db: DbOption = None, json_output: JsonOption = False, program: ProgramKey = "default"
) -> None:
    """The program's partners with their earn rate and prices per point."""

    async def work(session: AsyncSession) -> list[PartnerView]:
        active = await program_service.get_active_program(session, key=program)
        return partner_service.list_partners(active)

    partners = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json([partner.model_dump(mode="json") for partner in partners])
        return
    if not partners:
        typer.echo("no partners")
    for p in partners:
        typer.echo(
            f"{p.id}  {p.name}  earn {p.earn_points} per {p.earn_per_amount} {p.currency}"
            f"  issued at {p.earn_price_per_point}  accepted at {p.burn_price_per_point}"
        )


@app.command("settlement")
def settlement(
    start: Annotated[
        datetime,
        typer.Option(
            "--from",
            help="Start of the period, included (UTC unless a zone is given).",
            formats=_FORMATS,
        ),
    ],
    end: Annotated[
        datetime,
        typer.Option(
            "--to",
            help="End of the period, excluded (UTC unless a zone is given).",
            formats=_FORMATS,
        ),
    ],
    partner: Annotated[
        str | None, typer.Option("--partner", help="Only this partner (its id).")
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
    program: ProgramKey = "default",
) -> None:
    """For each partner, the points issued, returned and redeemed in [from, to) and the money
    owed each way (minor units in --json), computed from the ledger."""

    async def work(session: AsyncSession) -> list[Settlement]:
        active = await program_service.get_active_program(session, key=program)
        return await partner_settlement.settlements(
            session,
            active=active,
            start=ensure_utc(start),
            end=ensure_utc(end),
            partner_id=partner,
        )

    found = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json([item.model_dump(mode="json", by_alias=True) for item in found])
        return
    if not found:
        typer.echo("no partners")
    for s in found:
        money = {
            name: format_amount(value, s.currency)
            for name, value in (
                ("by", s.owed_by_partner),
                ("to", s.owed_to_partner),
                ("net", s.net),
            )
        }
        typer.echo(
            f"{s.partner_id}  issued {s.points_issued}  returned {s.points_returned}"
            f"  redeemed {s.points_redeemed}  partner owes {money['by']}"
            f"  program owes {money['to']}  net {money['net']} {s.currency}"
        )
