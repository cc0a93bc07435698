"""Errors of the segments domain."""

from __future__ import annotations

from patron.kit.errors import InvalidInputError


class UnknownSegmentError(InvalidInputError):
    """A segment name that the program's RFM map does not have."""

    code = "unknown_segment"
