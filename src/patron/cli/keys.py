"""``patron keys``: API keys for the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from patron.access import service as access_service
from patron.access.models import Role
from patron.cli.options import (
    ROW_ID_MAX,
    DbOption,
    JsonOption,
    audited,
    in_unit_of_work,
    print_json,
    run,
)
from patron.kit.time import ensure_utc, utcnow
from patron.partners import service as partner_service
from patron.programs.service import get_active_program

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@app.command("create")
def create(
    role: Annotated[Role, typer.Option(help="admin, staff, pos or partner.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key (e.g. 'till-3').")],
    expires_at: Annotated[
        datetime | None,
        typer.Option(
            help="When the key stops working (ISO 8601; a time without a zone is UTC).",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"],
        ),
    ] = None,
    partner: Annotated[
        str | None,
        typer.Option(
            "--partner", help="The partner a partner key acts for (the program's partners[].id)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Create an API key. The key is printed once, as the last line, and stored only hashed.
    A ``partner`` key names its partner (``--partner``), no other key does."""
    expiry = None if expires_at is None else ensure_utc(expires_at)

    async def work(session: AsyncSession) -> str:
        if partner is not None:
            partner_service.require_partner(await get_active_program(session), partner)
        created = await access_service.create_key(
            session, name=name, role=role, now=utcnow(), expires_at=expiry, partner_id=partner
        )
        await audited(session, action="keys.create", target=f"key:{created.id}")
        return created.key

    key = run(in_unit_of_work(db, work))
    typer.echo(f"created {role.value} key '{name}'; it is shown only now:", err=True)
    typer.echo(key)


@app.command("list")
def list_keys(db: DbOption = None, json_output: JsonOption = False) -> None:
    """List API keys (never the keys themselves)."""

    async def work(session: AsyncSession) -> list[dict[str, object]]:
        keys = await access_service.list_keys(session)
        return [
            {
                "id": k.id,
                "name": k.name,
                "role": k.role.value,
                "partner_id": k.partner_id,
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                "expires_at": k.expires_at.isoformat() if k.expires_at else None,
                "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
            }
            for k in keys
        ]

    rows = run(in_unit_of_work(db, work, write=False))
    if json_output:
        print_json(rows)
        return
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        used = f"  last used {row['last_used_at']}" if row["last_used_at"] else ""
        until = f"  expires {row['expires_at']}" if row["expires_at"] else ""
        line = f"{row['id']:>4}  {row['role']:<8} {row['prefix']}…  {state:<8} {row['name']}"
        if row["partner_id"]:
            line += f"  partner {row['partner_id']}"
        typer.echo(line + until + used)


@app.command("revoke")
def revoke(
    key_id: Annotated[
        int, typer.Argument(min=1, max=ROW_ID_MAX, help="The key's id (see 'keys list').")
    ],
    db: DbOption = None,
) -> None:
    """Revoke an API key: every running server refuses it at once."""

    async def work(session: AsyncSession) -> None:
        await access_service.revoke_key(session, key_id=key_id, now=utcnow())
        await audited(session, action="keys.revoke", target=f"key:{key_id}")

    run(in_unit_of_work(db, work))
    typer.echo(f"revoked key {key_id}")
