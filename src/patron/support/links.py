"""A ticket's optional links to a purchase and a return, checked against its member."""

from __future__ import annotations

from dataclasses import dataclass

from patron.purchases.errors import PurchaseNotFoundError
from patron.support.errors import ReturnNotFoundError, TicketLinkError
from patron.support.repository import TicketRepository


@dataclass(frozen=True, slots=True)
class Links:
    purchase_id: int | None
    return_id: int | None
    store: str | None  # the purchase's store, used when the ticket names none


async def resolve_links(
    repository: TicketRepository,
    member_id: int | None,
    purchase_id: int | None,
    return_id: int | None,
) -> Links:
    """A return implies its purchase; a given purchase must be the return's. A member's
    ticket may link only that member's purchase; a ticket without a member only a purchase
    without one."""
    if return_id is not None:
        found = await repository.purchase_return(return_id)
        if found is None:
            raise ReturnNotFoundError(
                f"return {return_id} does not exist",
                field="return_id",
                params={"return_id": return_id},
            )
        if purchase_id is not None and purchase_id != found.purchase_id:
            raise TicketLinkError(
                f"return {return_id} belongs to purchase {found.purchase_id}",
                field="return_id",
                params={"return_id": return_id, "purchase_id": found.purchase_id},
            )
        purchase_id = found.purchase_id
    if purchase_id is None:
        return Links(None, None, None)
    purchase = await repository.purchase(purchase_id)
    if purchase is None:
        raise PurchaseNotFoundError(
            f"purchase {purchase_id} does not exist",
            field="purchase_id",
            params={"purchase_id": purchase_id},
        )
    if purchase.member_id != member_id:
        raise TicketLinkError(
            f"purchase {purchase_id} belongs to another member",
            field="purchase_id",
            params={"purchase_id": purchase_id},
        )
    return Links(purchase_id, return_id, purchase.store)
