from __future__ import annotations

from patron.kit.errors import InvalidInputError, NotFoundError


class KpiWindowError(InvalidInputError):
    """A window whose first day is after its last day."""

    code = "invalid_window"


class GroupingUnavailableError(NotFoundError):
    """A breakdown whose data does not exist yet (segments not computed)."""

    code = "grouping_unavailable"
