"""Findings of the schemathesis run, each pinned: the answer and what ``/openapi.json`` says."""

from __future__ import annotations

from typing import Any

import pytest

from patron.api.app import create_app
from tests.api.conftest import Api


def _operation(method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = create_app().openapi()["paths"][f"/api/v1{path}"][method]
    return operation


def _codes(method: str, path: str, status: str) -> list[str]:
    schema = _operation(method, path)["responses"][status]["content"]["application/json"]
    codes: list[str] = schema["schema"]["properties"]["error"]["properties"]["code"]["enum"]
    return codes


def test_declared_errors_are_in_the_document() -> None:
    assert _codes("get", "/members/{member_id}", "404") == ["member_not_found"]
    assert _codes("get", "/members/{member_id}", "401") == ["missing_api_key", "invalid_api_key"]
    assert _codes("get", "/members/{member_id}", "403") == ["forbidden"]
    assert _codes("get", "/members/{member_id}", "422") == ["validation_error"]
    assert _codes("post", "/members", "409") == ["idempotency_conflict"]
    assert _codes("post", "/members", "400") == ["invalid_body"]
    assert set(_operation("get", "/members/{member_id}")["responses"]) == {
        "200",
        "401",
        "403",
        "404",
        "422",
    }


def test_rules_no_schema_can_state_are_listed() -> None:
    responses = _operation("post", "/purchases/{purchase_id}/returns")["responses"]
    assert responses["422"]["x-rule-codes"] == [
        "invalid_amount",
        "currency_mismatch",
        "invalid_input",
    ]
    assert "x-rule-codes" not in _operation("get", "/members/{member_id}")["responses"]["422"]


async def test_405_names_every_method_of_the_path(api: Api) -> None:
    response = await api.call("PUT", "/members")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["error"]["code"] == "method_not_allowed"
    response = await api.call("GET", "/purchases/batch")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "query",
    ["/tickets/kpis?to=0.5", "/tickets/returns-stats?from=0", "/analytics/kpis?to=0"],
)
async def test_a_number_is_not_a_day_or_a_moment(api: Api, query: str) -> None:
    response = await api.call("GET", query)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_an_empty_email_is_refused_as_the_schema_says(api: Api) -> None:
    schema = create_app().openapi()["components"]["schemas"]["MemberUpdate"]
    email = schema["properties"]["email"]["anyOf"][0]
    assert email["pattern"].startswith("^")
    response = await api.call("POST", "/members", json={"external_id": "e1", "email": ""})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "email"
    assert (await api.call("GET", "/members/by-external-id/e1")).status_code == 404


async def test_a_birth_date_in_the_future_is_a_declared_rule(api: Api) -> None:
    body = {"external_id": "f1", "birth_date": "2290-01-01"}
    response = await api.call("POST", "/members", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "birth_date_in_future",
        "message": "birth_date must not be in the future",
        "field": "birth_date",
    }
    assert (
        "birth_date_in_future" in _operation("post", "/members")["responses"]["422"]["x-rule-codes"]
    )
    assert (await api.call("GET", "/members/by-external-id/f1")).status_code == 404
