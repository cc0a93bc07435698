"""The API fixture for the challenge tests."""

from tests.api.conftest import api as api
