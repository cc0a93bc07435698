"""An admin's manual correction of a member's wallet (issue 12, part 5):
``POST /members/{id}/wallet/adjust`` and ``patron wallet adjust``.

One signed ``adjust`` entry (source ``adjustment``, ``source_id`` the client's key, the reason
as its description), once per member and ``idempotency_key`` (stored as
``adjust:<member id>:<key>``): the same key again answers the entry written before and changes
nothing; with another amount it is 409 ``wallet_entry_conflict``. A correction that would
take the balance below 0 is 409 ``wallet_adjustment_below_zero`` (params ``balance``,
``amount``, ``currency``) and writes nothing: a wallet has no debt. The change is described
for the audit log (the wallet's balance before and after); event ``wallet.credited`` or
``wallet.debited`` with source ``adjustment``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from patron.audit import service as audit_service
from patron.kit.errors import InvalidInputError
from patron.kit.money import format_amount, parse_amount
from patron.members import service as member_service
from patron.wallet.errors import WalletAdjustmentBelowZeroError
from patron.wallet.models import WalletEntryKind
from patron.wallet.repository import WalletRepository
from patron.wallet.schemas import WalletAdjust, WalletAdjusted
from patron.wallet.service import Written, _check_currency, _same_or_conflict, _write, entry_read


async def adjust(
    session: AsyncSession,
    *,
    program_id: int,
    member_id: int,
    currency: str,
    amount: int,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> Written:
    """Write the correction ``amount`` (signed minor units, not 0) to the member's wallet."""
    if amount == 0:
        raise InvalidInputError("a wallet adjustment must not be 0", field="amount")
    if not reason.strip():
        raise InvalidInputError("a wallet adjustment needs a reason", field="reason")
    repository = WalletRepository(session)
    wallet = await repository.lock(member_id, currency, now)
    key = f"adjust:{member_id}:{idempotency_key}"
    found = await repository.entry_by_key(key)
    if found is not None:
        return _same_or_conflict(found, member_id, amount)
    _check_currency(wallet, currency)
    if wallet.balance + amount < 0:
        raise WalletAdjustmentBelowZeroError(
            balance=format_amount(wallet.balance, currency),
            amount=format_amount(amount, currency),
            currency=currency,
        )
    entry = await _write(
        session,
        wallet,
        program_id=program_id,
        kind=WalletEntryKind.ADJUST,
        amount=amount,
        key=key,
        source_type="adjustment",
        source_id=idempotency_key,
        purchase_id=None,
        description=reason,
        occurred_at=now,
        now=now,
    )
    return Written(entry, True)


async def adjust_wallet(
    session: AsyncSession,
    *,
    program_id: int,
    currency: str,
    member_id: int,
    data: WalletAdjust,
    now: datetime,
) -> WalletAdjusted:
    """The use case: the member must exist (404 ``member_not_found``), ``amount`` is a signed
    decimal string in ``currency`` (422 ``invalid_input``, field ``amount``)."""
    await member_service.get_member(session, member_id=member_id)
    amount = parse_amount(data.amount, currency, field="amount")
    before = await WalletRepository(session).find(member_id)
    written = await adjust(
        session,
        program_id=program_id,
        member_id=member_id,
        currency=currency,
        amount=amount,
        reason=data.reason,
        idempotency_key=data.idempotency_key,
        now=now,
    )
    after = await WalletRepository(session).find(member_id)
    balance = 0 if after is None else after.balance
    audit_service.note(
        session,
        target=f"member:{member_id}",
        before={"wallet_balance": 0 if before is None else before.balance},
        after={"wallet_balance": balance},
        changed=written.written,
    )
    return WalletAdjusted(
        member_id=member_id,
        currency=currency,
        balance=format_amount(balance, currency),
        created=written.written,
        entry=entry_read(written.entry, currency),
    )
