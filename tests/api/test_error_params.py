"""Errors carry ``params``, the values their English ``message`` names (issue 11 part 7), so a
client writes them in its own words: a domain error's, and each field of a validation error
with pydantic's ``code`` for what is wrong."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_a_validation_error_names_what_is_wrong_and_the_bound(api: Api) -> None:
    response = await api.call("POST", "/members", json={"external_id": "x" * 129})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == "external_id"
    detail = error["details"][0]
    assert (detail["field"], detail["code"]) == ("external_id", "string_too_long")
    assert detail["params"] == {"max_length": 128}
    assert error["params"] == detail["params"]


async def test_a_domain_error_names_its_values(api: Api) -> None:
    missing = await api.call("GET", "/members/987654")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert (error["code"], error["params"]) == ("member_not_found", {"member_id": 987654})


async def test_an_error_without_values_has_empty_params(api: Api) -> None:
    response = await api.call("GET", "/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["params"] == {}


async def test_a_program_version_that_does_not_exist_names_the_version(api: Api) -> None:
    response = await api.call("GET", "/program/versions/999")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["field"] == "version"
    assert error["params"]["version"] == 999


async def test_a_refused_webhook_address_names_its_host(api: Api) -> None:
    response = await api.call(
        "POST",
        "/webhooks",
        json={"url": "http://metadata.google.internal/hook", "events": ["*"]},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["field"], error["params"]) == ("url", {"host": "metadata.google.internal"})


async def test_an_unknown_webhook_event_names_it(api: Api) -> None:
    response = await api.call(
        "POST", "/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["no.such"]}
    )
    assert response.status_code == 422
    assert response.json()["error"]["params"] == {"unknown": "no.such"}
