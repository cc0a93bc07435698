"""Errors of the campaigns."""

from __future__ import annotations

from patron.kit.errors import ConflictError, InvalidInputError, NotFoundError


class CampaignNotFoundError(NotFoundError):
    """The active program has no campaign with this key."""

    code = "campaign_not_found"


class CampaignExistsError(ConflictError):
    """A campaign with this key is already in the active program."""

    code = "campaign_exists"


class UnknownEventTypeError(InvalidInputError):
    """No campaign of the active program names this custom event type (``event:``)."""

    code = "unknown_event_type"


class EventInFutureError(InvalidInputError):
    """The custom event is dated later than the program's ``purchases.max_future_minutes``
    allow."""

    code = "occurred_in_future"


class NotARaffleError(InvalidInputError):
    """The campaign has no ``raffle:`` section: there is nothing to draw."""

    code = "not_a_raffle"


class RaffleNotEndedError(ConflictError):
    """A raffle is drawn only once its campaign's window is over (its entries are final)."""

    code = "raffle_not_ended"
