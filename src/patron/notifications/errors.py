from __future__ import annotations

from patron.kit.errors import NotFoundError


class UnsubscribeLinkInvalidError(NotFoundError):
    """The unsubscribe token is malformed, forged, or names no member."""

    code = "unsubscribe_link_invalid"
