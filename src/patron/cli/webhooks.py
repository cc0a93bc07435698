"""``patron webhooks``: signed webhook endpoints and their delivery log (as the API's
``/webhooks``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.cli.options import (
    ROW_ID_MAX,
    DbOption,
    JsonOption,
    audited,
    in_unit_of_work,
    print_json,
    run,
)
from patron.kit.time import utcnow
from patron.webhooks import schemas
from patron.webhooks import service as webhook_service

app = typer.Typer(
    help="Add, list and remove webhook endpoints; see deliveries.", no_args_is_help=True
)

WebhookArgument = Annotated[
    int, typer.Argument(min=1, max=ROW_ID_MAX, help="The webhook's id (see 'webhooks list').")
]


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to POST (http:// or https://).")],
    event: Annotated[
        list[str],
        typer.Option("--event", help="An event type to send (repeat it; '*' for all)."),
    ],
    description: Annotated[str | None, typer.Option(help="A note for people.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add an endpoint. Its signing secret (whsec_...) is printed once, as the last line."""

    async def work(session: AsyncSession) -> schemas.WebhookCreated:
        created = await webhook_service.create_endpoint(
            session, url=url, events=event, description=description, now=utcnow()
        )
        await audited(session, action="webhooks.create_webhook", target=f"webhook:{created.id}")
        return created

    created = run(in_unit_of_work(db, work))
    if json_output:
        print_json(created.model_dump(mode="json"))
        return
    events = ", ".join(created.events)
    typer.echo(f"added webhook {created.id} for {events}; the secret is shown only now:", err=True)
    typer.echo(created.secret)


def _row(webhook: schemas.Webhook) -> str:
    state = "enabled" if webhook.enabled else "DISABLED"
    line = f"{webhook.id:>4}  {state:<8} {webhook.url}  [{', '.join(webhook.events)}]"
    if webhook.notice and not webhook.enabled:
        line += f"\n      {webhook.notice}"
    return line


@app.command("list")
def list_webhooks(db: DbOption = None, json_output: JsonOption = False) -> None:
    """List endpoints (never their secrets), with the notice of a disabled one."""

    async def work(session: AsyncSession) -> list[schemas.Webhook]:
        return await webhook_service.list_endpoints(session)

    webhooks = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json([webhook.model_dump(mode="json") for webhook in webhooks])
        return
    for webhook in webhooks:
        typer.echo(_row(webhook))


@app.command("remove")
def remove(webhook_id: WebhookArgument, db: DbOption = None) -> None:
    """Remove an endpoint with its deliveries and their log."""

    async def work(session: AsyncSession) -> None:
        await webhook_service.remove_endpoint(session, webhook_id)
        await audited(session, action="webhooks.delete_webhook", target=f"webhook:{webhook_id}")

    run(in_unit_of_work(db, work))
    typer.echo(f"removed webhook {webhook_id}")


@app.command("enable")
def enable(webhook_id: WebhookArgument, db: DbOption = None) -> None:
    """Enable an endpoint that was disabled for failing."""

    async def work(session: AsyncSession) -> None:
        await webhook_service.enable_endpoint(session, webhook_id, now=utcnow())
        await audited(session, action="webhooks.enable_webhook", target=f"webhook:{webhook_id}")

    run(in_unit_of_work(db, work))
    typer.echo(f"enabled webhook {webhook_id}")


@app.command("deliveries")
def deliveries(
    webhook_id: WebhookArgument,
    limit: Annotated[int, typer.Option(min=1, max=webhook_service.MAX_PAGE_SIZE)] = 20,
    status: Annotated[schemas.DeliveryStatus | None, typer.Option(help="Only these.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """An endpoint's newest deliveries with every attempt (status, code, duration, error)."""

    async def work(session: AsyncSession) -> schemas.DeliveryPage:
        return await webhook_service.list_deliveries(
            session, webhook_id, limit=limit, status=None if status is None else status.value
        )

    page = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(page.model_dump(mode="json"))
        return
    for item in page.items:
        typer.echo(f"{item.id:>6}  {item.status:<9} {item.type:<20} {item.webhook_id}")
        for attempt in item.attempts:
            details: list[Any] = [attempt.attempted_at.isoformat(), attempt.status]
            details += [attempt.response_code or "-", f"{attempt.duration_ms} ms"]
            typer.echo("        " + "  ".join(map(str, details)) + f"  {attempt.error or ''}")


@app.command("redeliver")
def redeliver(
    webhook_id: WebhookArgument,
    delivery_id: Annotated[int, typer.Argument(min=1, max=ROW_ID_MAX, help="The delivery's id.")],
    db: DbOption = None,
) -> None:
    """Send a delivery again (the worker sends it at its next round)."""

    async def work(session: AsyncSession) -> None:
        await webhook_service.redeliver(session, webhook_id, delivery_id, now=utcnow())
        await audited(
            session,
            action="webhooks.redeliver",
            target=f"webhook:{webhook_id},delivery:{delivery_id}",
        )

    run(in_unit_of_work(db, work))
    typer.echo(f"delivery {delivery_id} of webhook {webhook_id} will be sent again")
