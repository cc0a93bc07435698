"""``patron portal``: the member portal (``/portal``)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Annotated

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
from patron.members import portal as portal_service

app = typer.Typer(help="The member portal: login links.", no_args_is_help=True)
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@app.command("link")
def link(
    member_id: Annotated[int, typer.Argument(help="The member's id.", min=1, max=ROW_ID_MAX)],
    base_url: Annotated[
        str | None,
        typer.Option(
            help="The portal's public address (default $PATRON_PUBLIC_URL, else "
            f"{DEFAULT_BASE_URL})."
        ),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print a one-time login link to the member's portal (valid 15 minutes, one use). Staff
    hand it over at the till; only its hash is stored. Recorded in the audit log."""

    async def work(session: AsyncSession) -> str:
        token = await portal_service.create_link(session, member_id=member_id, now=utcnow())
        await audited(session, action="portal.link", target=f"member:{member_id}")
        return token

    token = run(in_unit_of_work(db, work))
    base = (base_url or os.environ.get("PATRON_PUBLIC_URL") or DEFAULT_BASE_URL).rstrip("/")
    address = f"{base}/portal/login/{token}"
    if json_output:
        print_json(
            {"member_id": member_id, "url": address, "valid_minutes": portal_service.LINK_MINUTES}
        )
    else:
        typer.echo(address)


@app.command("embed-token")
def embed_token(
    member_id: Annotated[int, typer.Argument(help="The member's id.", min=1, max=ROW_ID_MAX)],
    minutes: Annotated[
        int, typer.Option(help="How long the token is good for (1 to 10).", min=1, max=10)
    ] = 5,
) -> None:
    """Print a signed embed token for the member, signed with $PATRON_PORTAL_SECRET as a
    shop's server would sign it (to try embedding; see docs/web.md). Touches no database."""
    secret = os.environ.get("PATRON_PORTAL_SECRET", "")
    if len(secret) < portal_service.MIN_SECRET_LENGTH:
        typer.echo(
            f"PATRON_PORTAL_SECRET must be set, at least {portal_service.MIN_SECRET_LENGTH} "
            "characters",
            err=True,
        )
        raise typer.Exit(2)
    expires_at = utcnow() + timedelta(minutes=minutes)
    typer.echo(portal_service.sign_embed_token(secret, member_id=member_id, expires_at=expires_at))
