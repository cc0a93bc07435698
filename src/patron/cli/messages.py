"""``patron messages``: the message log (emails now; SMS and push later)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.cli.options import ROW_ID_MAX, DbOption, JsonOption, in_unit_of_work, print_json, run
from patron.notifications import service as notification_service
from patron.notifications.schemas import MessageKind, MessagePage, MessageStatus, MessageView
from patron.notifications.sender import waiting

app = typer.Typer(help="Messages to members: the log of what was sent, and why not.")


@app.callback(no_args_is_help=True)
def _group() -> None:
    """Messages to members: the log of what was sent, and why not."""


@app.command("list")
def list_messages(
    db: DbOption = None,
    json_output: JsonOption = False,
    member: Annotated[
        int | None,
        typer.Option("--member", min=1, max=ROW_ID_MAX, help="Only this member's messages."),
    ] = None,
    status: Annotated[MessageStatus | None, typer.Option(help="Only this status.")] = None,
    kind: Annotated[MessageKind | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    after: Annotated[
        int | None,
        typer.Option(
            min=0, max=ROW_ID_MAX, help="Messages older than this id (a page's next_after)."
        ),
    ] = None,
) -> None:
    """The message log, newest first: each message's status (queued, sent,
    skipped_no_consent, skipped_no_address, failed), recipient, language and subject, and
    why it is not sent. Queued messages that cannot go out (no PATRON_SMTP_URL) are named."""

    async def work(session: AsyncSession) -> MessagePage:
        return await notification_service.list_messages(
            session,
            member_id=member,
            status=status,
            kind=kind,
            after=after,
            limit=limit,
            waiting=waiting(),
        )

    page = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(page.model_dump(mode="json"))
        return
    for channel, reason in page.waiting.items():
        typer.echo(f"{channel}: {reason}; these messages wait and are sent once it is set")
    if not page.items:
        typer.echo("no messages")
    for message in page.items:
        typer.echo(_line(message))
    if page.next_after is not None:
        typer.echo(f"(more: --after {page.next_after})")


def _line(message: MessageView) -> str:
    line = (
        f"{message.id:>6}  {message.created_at:%Y-%m-%d %H:%M}  member {message.member_id:<6}"
        f" {message.channel:<5} {message.kind:<17} {message.status.value:<18}"
        f" {message.language}  {message.recipient or '-'}  {message.subject}"
    )
    if message.last_error:
        line += f"  ({message.last_error})"
    return line
