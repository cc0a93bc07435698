"""Text no database can store is a 422 naming the field, never a 500: a NUL byte in a path or
query parameter (``refuse_unstorable_text`` in ``api/deps.py``; PostgreSQL refuses such text,
and schemathesis found ``/feedback/problems?sku=…%00…``) or in a body (each string's schema), and
a lone surrogate anywhere in a JSON body (the same dependency). ``test_edge_values.py`` sends
them to every operation."""

from __future__ import annotations

import json

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
    # a survey link is a member's page: the refusal is the portal's error page
    assert response.headers["content-type"].startswith("text/html")
    assert "This address is not valid" in response.text


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"external_id": "s-1", "attributes": {"s": "\ud800"}}, "attributes.s", "surrogate"),
        ({"external_id": "s-2", "attributes": {"s": "a\udfffb"}}, "attributes.s", "surrogate"),
        ({"external_id": "s-3", "attributes": {"\ud800": 1}}, "attributes", "surrogate"),
        ({"external_id": "s-4", "name": "\udbff"}, "name", "surrogate"),
        ({"external_id": "s-5", "attributes": {"a\u0000": 1}}, "attributes", "NUL"),
    ],
)
async def test_text_no_database_can_store_is_refused_by_name(
    api: Api, body: dict[str, object], field: str, reason: str
) -> None:
    """A lone surrogate (``"\\ud800"`` in JSON: half of a pair, no UTF-8) or a NUL anywhere in
    a JSON body, names included: 422 naming the field (a surrogate in ``attributes`` was
    stored and answered 500 when the member was written back), and nothing is written."""
    response = await api.client.post(
        "/api/v1/members",
        content=json.dumps(body).encode(),  # escapes: json.dumps writes \ud800
        headers={**api.as_role("pos"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"].startswith(field), error
    assert reason in error["message"], error
    lookup = await api.call("GET", f"/members/by-external-id/{body['external_id']}")
    assert lookup.status_code == 404


async def test_a_surrogate_pair_is_text_like_any_other(api: Api) -> None:
    body = {"external_id": "pair-1", "attributes": {"emoji": "\U0001f600"}}
    response = await api.client.post(
        "/api/v1/members",
        content=json.dumps(body).encode(),  # "\ud83d\ude00": a pair, one character
        headers={**api.as_role("admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["attributes"] == {"emoji": "\U0001f600"}
