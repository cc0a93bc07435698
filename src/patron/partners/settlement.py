"""A partner settlement, computed from the ledger alone (docs/partners.md, "Settlement").

For each partner and period ``[start, end)`` (by the time an entry was written):

- ``points_issued``: the sum of its ``partner_earn`` entries;
- ``points_returned``: the points ``reverse`` entries (returns) took back from the lots of
  those entries, whenever the purchase was;
- ``points_redeemed``: the points of its ``partner_burn`` entries;
- ``owed_by_partner`` = round(sum(issued x price) - sum(returned x price of its earning));
- ``owed_to_partner`` = round(sum(redeemed x price)).

Each price is the one recorded in the entry's ``meta`` when it was written, in 1/10**4 of a
minor unit; each sum is rounded once, to whole minor units, half away from zero.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from patron.kit.errors import InvalidInputError
from patron.ledger.sources import LedgerSource
from patron.partners import repository
from patron.partners.schemas import Movement, Settlement
from patron.partners.service import currency_of, require_partner
from patron.programs.partner_settings import PRICE_PLACES
from patron.programs.schemas import ActiveProgram

SCALE = 10**PRICE_PLACES


def to_minor(units: int) -> int:
    """``units`` (1/10**4 of a minor unit) in whole minor units, half away from zero."""
    return int((Decimal(units) / SCALE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def movements(session: AsyncSession, start: datetime, end: datetime) -> list[Movement]:
    """Every partner movement of the ledger written in ``[start, end)``."""
    found: list[Movement] = []
    for source, amount, meta in await repository.partner_entries(session, start, end):
        kind = "issued" if source == LedgerSource.PARTNER_EARN.value else "redeemed"
        found.append(
            Movement(
                str(meta["partner_id"]), kind, abs(amount), int(meta["price"]), meta["currency"]
            )
        )
    for amount, meta in await repository.partner_reversals(session, start, end):
        found.append(
            Movement(
                str(meta["partner_id"]), "returned", -amount, int(meta["price"]), meta["currency"]
            )
        )
    return found


async def settlements(
    session: AsyncSession,
    *,
    active: ActiveProgram,
    start: datetime,
    end: datetime,
    partner_id: str | None = None,
) -> list[Settlement]:
    """The settlement of every partner of the program (and of any partner, since removed from
    the program, that the period's entries name), or of ``partner_id`` alone."""
    if end <= start:
        raise InvalidInputError("'to' must come after 'from'", field="to")
    if partner_id is not None:
        require_partner(active, partner_id)
    points: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    value: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    currencies: dict[str, str] = {}
    for movement in await movements(session, start, end):
        points[movement.partner_id][movement.kind] += movement.points
        value[movement.partner_id][movement.kind] += movement.points * movement.price
        currencies.setdefault(movement.partner_id, movement.currency)
    names = {p.id: p.name for p in active.program.partners}
    for p in active.program.partners:
        currencies[p.id] = currency_of(active, p)
    ids = [p.id for p in active.program.partners] + sorted(set(points) - set(names))
    if partner_id is not None:
        ids = [partner_id]
    result: list[Settlement] = []
    for pid in ids:
        by_partner = to_minor(value[pid]["issued"] - value[pid]["returned"])
        to_partner = to_minor(value[pid]["redeemed"])
        result.append(
            Settlement(
                partner_id=pid,
                name=names.get(pid, pid),
                currency=currencies[pid],
                from_=start,
                to=end,
                points_issued=points[pid]["issued"],
                points_returned=points[pid]["returned"],
                points_redeemed=points[pid]["redeemed"],
                owed_by_partner=by_partner,
                owed_to_partner=to_partner,
                net=by_partner - to_partner,
            )
        )
    return result
