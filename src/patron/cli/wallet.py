"""``patron wallet``: an admin's correction of a member's cashback wallet
(docs/campaigns.md, "The cashback wallet")."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from pydantic import ValidationError
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
from patron.programs import service as program_service
from patron.wallet.adjust import adjust_wallet
from patron.wallet.schemas import WalletAdjust, WalletAdjusted

app = typer.Typer(help="The cashback wallet: adjust.", no_args_is_help=True)

ProgramKey = Annotated[
    str, typer.Option("--program", help="Program key (one database may hold several).")
]


@app.command("adjust")
def adjust(
    member_id: Annotated[int, typer.Argument(help="The member's id.", min=1, max=ROW_ID_MAX)],
    amount: Annotated[
        str,
        typer.Argument(
            help='Signed decimal amount in the program\'s currency ("50.00"; to take away, '
            'write it after --: "-- -10.00").'
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the entry).")],
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key", help="The same key again changes nothing (default: a new one)."
        ),
    ] = None,
    program: ProgramKey = "default",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Correct a member's wallet by AMOUNT, recorded in the audit log (``wallet.adjust``);
    a correction below 0 exits 1 (``wallet_adjustment_below_zero``)."""
    try:
        data = WalletAdjust(
            amount=amount, reason=reason, idempotency_key=idempotency_key or f"cli:{uuid.uuid4()}"
        )
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        typer.echo(f"error: invalid_input ({field}): {problem['msg']}", err=True)
        raise typer.Exit(1) from error

    async def work(session: AsyncSession) -> WalletAdjusted:
        active = await program_service.get_active_program(session, key=program)
        adjusted = await adjust_wallet(
            session,
            program_id=active.program_id,
            currency=active.program.currency,
            member_id=member_id,
            data=data,
            now=utcnow(),
        )
        await audited(session, action="wallet.adjust", target=f"member:{member_id}")
        return adjusted

    result = run(in_unit_of_work(db, work))
    if json_output:
        print_json(result.model_dump(mode="json"))
        return
    entry = result.entry
    done = "adjusted" if result.created else "already adjusted with this key"
    typer.echo(
        f"member {member_id}: {done} by {entry.amount} {result.currency}; "
        f"balance {result.balance} {result.currency}"
    )
