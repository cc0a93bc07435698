from __future__ import annotations

from patron.kit.errors import ForbiddenError, NotFoundError


class PartnerNotFoundError(NotFoundError):
    """The active program declares no partner with this id."""

    code = "partner_not_found"


class PartnerForbiddenError(ForbiddenError):
    """A partner key asked for another partner's data (a partner sees only its own)."""

    code = "partner_forbidden"
