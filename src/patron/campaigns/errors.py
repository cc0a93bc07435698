"""Errors of the campaigns."""

from __future__ import annotations

from patron.kit.errors import NotFoundError


class CampaignNotFoundError(NotFoundError):
    """The active program has no campaign with this key."""

    code = "campaign_not_found"
