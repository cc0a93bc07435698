"""A NUL byte in a path or query parameter is a 422 naming the parameter, never a 500
(PostgreSQL refuses such text; schemathesis found ``/feedback/problems?sku=…%00…``)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/feedback/problems?sku=a%00b&source=all", "sku"),
        ("/members/by-external-id/a%00b", "external_id"),
        ("/reviews?store=x%00", None),  # a parameter the route does not read: ignored
    ],
)
async def test_a_nul_byte_in_a_parameter_is_refused_by_name(
    api: Api, path: str, field: str | None
) -> None:
    response = await api.call("GET", path)
    if field is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field)


async def test_a_nul_byte_in_a_survey_token_is_refused(api: Api) -> None:
    response = await api.client.get("/s/a%00b")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "token"
