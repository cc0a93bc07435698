"""Errors of the campaigns."""

from __future__ import annotations

from patron.kit.errors import ConflictError, NotFoundError


class CampaignNotFoundError(NotFoundError):
    """The active program has no campaign with this key."""

    code = "campaign_not_found"


class CampaignExistsError(ConflictError):
    """A campaign with this key is already in the active program."""

    code = "campaign_exists"
