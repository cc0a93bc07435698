"""``patron tickets``: the support queue, one ticket, missed targets, KPIs and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.cli.options import ROW_ID_MAX, DbOption, JsonOption, in_unit_of_work, print_json, run
from patron.feedback import service as feedback_service
from patron.kit.time import parse_instant, utcnow
from patron.programs.service import get_active_program
from patron.support import kpis as kpi_service
from patron.support import returns as returns_service
from patron.support import service as ticket_service
from patron.support.kpis import KpiFigures, TicketKpis
from patron.support.returns import ReturnsStats
from patron.support.schemas import Ticket, TicketDetail, TicketFilter, TicketPage
from patron.support.states import TicketStatus

app = typer.Typer(help="Support tickets.", no_args_is_help=True)

LimitOption = Annotated[int, typer.Option(min=1, max=500, help="At most this many tickets.")]
FromOption = Annotated[
    str | None, typer.Option("--from", help="Tickets or purchases from this ISO time.")
]
ToOption = Annotated[str | None, typer.Option("--to", help="... up to (not including) this time.")]


def _instant(value: str | None, hint: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as error:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=hint) from error


def _page(db: str | None, where: TicketFilter, limit: int) -> TicketPage:
    moment = utcnow()

    async def work(session: AsyncSession) -> TicketPage:
        active = await get_active_program(session)
        return await ticket_service.list_tickets(
            session, active=active, where=where, now=moment, limit=limit
        )

    return run(in_unit_of_work(db, work, write=False))


def _line(ticket: Ticket) -> str:
    flags = "".join(
        (
            "P" if ticket.has_priority_support else "-",
            "R" if ticket.first_response_breached else "-",
            "S" if ticket.resolution_breached else "-",
        )
    )
    who = f"member {ticket.member_id}" if ticket.member_id else (ticket.contact or "")
    return (
        f"#{ticket.id:<6} {ticket.status.value:<8} {ticket.priority.value:<6} {flags}  "
        f"{ticket.assignee or '-':<12} {who:<16} {ticket.subject[:50]}"
    )


def _print_page(page: TicketPage, json_output: bool) -> None:
    if json_output:
        print_json(page.model_dump(mode="json"))
        return
    for ticket in page.items:
        typer.echo(_line(ticket))
    typer.echo(f"{len(page.items)} ticket(s); flags: P priority support, R response late, S late")


@app.command("list")
def list_tickets(
    db: DbOption = None,
    status: Annotated[TicketStatus | None, typer.Option(help="Only this status.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only this assignee.")] = None,
    breached: Annotated[
        bool | None, typer.Option("--breached/--not-breached", help="Missed a target or not.")
    ] = None,
    limit: LimitOption = 50,
    json_output: JsonOption = False,
) -> None:
    """The queue: explicit priority, then members with the priority_support perk, then the
    oldest ticket first."""
    where = TicketFilter(status=status, assignee=assignee, breached=breached)
    _print_page(_page(db, where, limit), json_output)


@app.command("breaches")
def breaches(
    db: DbOption = None, limit: LimitOption = 500, json_output: JsonOption = False
) -> None:
    """Tickets that missed their first-response or resolution target (recorded by
    `patron jobs run`, or overdue as of now), in queue order."""
    _print_page(_page(db, TicketFilter(breached=True), limit), json_output)


@app.command("show")
def show(
    ticket_id: Annotated[int, typer.Argument(min=1, max=ROW_ID_MAX, help="The ticket's id.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """One ticket with its messages, status history and goodwill credits."""
    moment = utcnow()

    async def work(session: AsyncSession) -> TicketDetail:
        return await ticket_service.get_ticket(session, ticket_id=ticket_id, now=moment)

    detail = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(detail.model_dump(mode="json"))
        return
    typer.echo(_line(detail))
    typer.echo(f"  {detail.channel.value} / {detail.category}, opened {detail.created_at}")
    typer.echo(f"  first response due {detail.first_response_due_at}: {detail.first_response_at}")
    typer.echo(f"  resolution due {detail.resolution_due_at}: {detail.resolved_at}")
    typer.echo(f"  {detail.text}")
    for message in detail.messages:
        typer.echo(f"  [{message.created_at}] {message.author_kind.value} {message.author}: ")
        typer.echo(f"    {message.text}")
    for credit in detail.goodwill:
        typer.echo(f"  goodwill {credit.points} points by {credit.created_by}: {credit.reason}")


def _figures(label: str, figures: KpiFigures) -> str:
    first, resolution = figures.first_response_sla, figures.resolution_sla

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    return (
        f"{label:<16} {figures.tickets:>6} tickets, response median "
        f"{figures.first_response_median_seconds}s p90 {figures.first_response_p90_seconds}s "
        f"({share(first.share)} in target), resolution median "
        f"{figures.resolution_median_seconds}s p90 {figures.resolution_p90_seconds}s "
        f"({share(resolution.share)} in target)"
    )


@app.command("kpis")
def kpis(
    db: DbOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    json_output: JsonOption = False,
) -> None:
    """Response and resolution times (median, p90) and SLA compliance, overall and per tier,
    store, month and agent, for the tickets created in [--from, --to)."""
    start, end, moment = _instant(date_from, "--from"), _instant(date_to, "--to"), utcnow()

    async def work(session: AsyncSession) -> TicketKpis:
        active = await get_active_program(session)
        kpis = await kpi_service.ticket_kpis(
            session, active=active, now=moment, date_from=start, date_to=end
        )
        csat = await feedback_service.csat_by_agent(session, start=start, end=end)
        return kpi_service.attach_csat(kpis, csat)

    result = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(result.model_dump(mode="json"))
        return
    typer.echo(_figures("overall", result.overall))
    views = (("tier", result.by_tier), ("store", result.by_store), ("month", result.by_month))
    for name, groups in (*views, ("agent", result.by_agent)):
        for group in groups:
            typer.echo(_figures(f"{name} {group.key or '-'}", group))


@app.command("returns")
def returns(
    db: DbOption = None,
    date_from: FromOption = None,
    date_to: ToOption = None,
    json_output: JsonOption = False,
) -> None:
    """Returns per product (units) and per store (purchases) for the purchases made in
    [--from, --to), with the tickets linked to them."""
    start, end = _instant(date_from, "--from"), _instant(date_to, "--to")

    async def work(session: AsyncSession) -> ReturnsStats:
        active = await get_active_program(session)
        return await returns_service.returns_stats(
            session, active=active, date_from=start, date_to=end
        )

    stats = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(stats.model_dump(mode="json"))
        return
    for product in stats.by_product:
        typer.echo(
            f"sku {product.sku:<20} {product.units_returned}/{product.units_sold} units returned "
            f"({product.rate}), {product.returns} returns, {product.returns_with_ticket} ticketed"
        )
    for store in stats.by_store:
        typer.echo(
            f"store {store.store or '-':<18} {store.purchases_returned}/{store.purchases} "
            f"purchases returned ({store.rate}), refunded {store.refunded} {stats.currency}"
        )
