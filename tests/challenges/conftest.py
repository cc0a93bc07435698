"""The API's and the console's fixtures for the challenge tests."""

from tests.api.conftest import api as api
from tests.web.conftest import console as console
