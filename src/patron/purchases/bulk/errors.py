"""Errors of the bulk import."""

from __future__ import annotations

from patron.kit.errors import InvalidInputError


class ImportFileError(InvalidInputError):
    """The file cannot be imported at all: unreadable, unknown format, or columns missing or
    unknown in its header. Nothing is loaded."""

    code = "import_file_invalid"
