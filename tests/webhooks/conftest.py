"""The API fixture for the webhooks tests."""

from __future__ import annotations

from tests.api.conftest import api as api
