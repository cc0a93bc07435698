import pytest

# the example tour's steps assert as the tests do: show the values when they fail
pytest.register_assert_rewrite("tests.campaigns.tour", "tests.campaigns.tour_parts")
