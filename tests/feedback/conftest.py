"""The API fixture of tests/api, for the feedback endpoints."""

from __future__ import annotations

from tests.api.conftest import api as api

__all__ = ["api"]
