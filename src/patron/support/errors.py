"""Errors of support tickets."""

from __future__ import annotations

from patron.kit.errors import ConflictError, InvalidInputError, NotFoundError
from patron.support.states import TicketStatus


class TicketNotFoundError(NotFoundError):
    code = "ticket_not_found"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} does not exist", field="ticket_id")


class ReturnNotFoundError(NotFoundError):
    code = "return_not_found"


class InvalidTicketTransitionError(ConflictError):
    """The status machine does not allow this move (nothing was changed)."""

    code = "invalid_ticket_transition"

    def __init__(self, current: TicketStatus, target: TicketStatus) -> None:
        super().__init__(f"a {current.value} ticket cannot become {target.value}", field="status")
        self.current = current
        self.target = target


class TicketClosedError(ConflictError):
    code = "ticket_closed"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} is closed", field="ticket_id")


class TicketHasNoMemberError(ConflictError):
    code = "ticket_has_no_member"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} has no member to give points to", field="member_id")


class GoodwillCapExceededError(ConflictError):
    code = "goodwill_cap_exceeded"

    def __init__(self, *, requested: int, given: int, cap: int, per: str = "ticket") -> None:
        super().__init__(
            f"{requested} points would exceed the goodwill cap of {cap} per {per} "
            f"({given} already given or waiting for approval)",
            field="points",
        )


class GoodwillNotFoundError(NotFoundError):
    code = "goodwill_not_found"

    def __init__(self, goodwill_id: int) -> None:
        super().__init__(f"the ticket has no goodwill credit {goodwill_id}", field="goodwill_id")


class GoodwillAlreadyDecidedError(ConflictError):
    code = "goodwill_already_decided"

    def __init__(self, goodwill_id: int, status: str) -> None:
        super().__init__(f"goodwill credit {goodwill_id} is already {status}", field="goodwill_id")


class TicketLinkError(InvalidInputError):
    """A purchase or return that does not belong to the ticket's member or to each other."""

    code = "invalid_ticket_link"
