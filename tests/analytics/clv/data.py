"""Where the CDNOW data live: ``tests/data/cdnow`` in the repository (provenance in its
README.md)."""

from __future__ import annotations

from tests.conftest import CDNOW_DATA

DATA = CDNOW_DATA
