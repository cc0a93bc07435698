"""Findings of the schemathesis run, each pinned: the answer and what ``/openapi.json`` says."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
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
    # a till names the member it identified (patron.api.till_identity): its own codes too
    assert _codes("get", "/members/{member_id}", "404") == ["member_not_found", "program_not_found"]
    assert _codes("get", "/members/{member_id}", "401") == ["missing_api_key", "invalid_api_key"]
    assert _codes("get", "/members/{member_id}", "403") == ["forbidden", "member_not_identified"]
    assert set(_codes("get", "/members/{member_id}", "422")) == {
        "validation_error",
        "member_token_invalid",
    }
    assert set(_codes("get", "/members/by-token/{token}", "422")) == {
        "validation_error",
        "member_token_invalid",
    }
    assert _codes("post", "/members", "409") == ["idempotency_conflict"]
    assert _codes("post", "/members", "400") == ["invalid_body"]
    assert set(_operation("get", "/members/{member_id}")["responses"]) == {
        "200",
        "401",
        "403",
        "404",
        "422",
        "429",
    }
    assert _codes("get", "/members/{member_id}", "429") == ["too_many_requests"]


def test_rules_no_schema_can_state_are_listed() -> None:
    responses = _operation("post", "/purchases/{purchase_id}/returns")["responses"]
    assert responses["422"]["x-rule-codes"] == [
        "invalid_amount",
        "currency_mismatch",
        "invalid_input",
    ]
    assert "x-rule-codes" not in _operation("get", "/members/by-phone/{phone}")["responses"]["422"]
    # a list's cursor is read against the list that gave it out: no schema can state that
    assert _operation("get", "/members")["responses"]["422"]["x-rule-codes"] == ["invalid_cursor"]
    member = _operation("get", "/members/{member_id}")["responses"]["422"]
    assert member["x-rule-codes"] == ["member_token_invalid"]


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
        "params": {},
    }
    assert (
        "birth_date_in_future" in _operation("post", "/members")["responses"]["422"]["x-rule-codes"]
    )
    assert (await api.call("GET", "/members/by-external-id/f1")).status_code == 404


async def test_a_path_written_out_is_not_read_as_a_parameter(api: Api) -> None:
    """``PATCH /members/batch`` is not ``PATCH /members/{member_id}`` with ``batch``: 405."""
    for method in ("PATCH", "GET"):
        response = await api.call(method, "/members/batch", json={"members": []})
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        assert response.json()["error"]["code"] == "method_not_allowed"
    assert (await api.call("PATCH", "/members/1", json={})).status_code == 404
    response = await api.call("POST", "/members/batch", json={"members": [], "dry_run": True})
    assert response.status_code == 200, response.text


SURVEY = {
    "key": "taste",
    "name": "Taste",
    "questions": [{"id": "q", "kind": "ces", "text": {"en": "?"}}],
}
TWICE = [
    {"id": "a", "kind": "ces", "text": {"en": "?"}},
    {"id": "a", "kind": "nps", "text": {"en": "!"}},
]


async def test_question_ids_used_twice_are_a_declared_rule(api: Api) -> None:
    """Schemathesis: PATCH /surveys/{key} answered 500, POST /surveys ``validation_error``."""
    response = await api.call("POST", "/surveys", json={**SURVEY, "questions": TWICE})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "duplicate_question_id"
    assert (await api.call("GET", "/surveys/taste")).status_code == 404
    assert (await api.call("POST", "/surveys", json=SURVEY)).status_code == 201
    response = await api.call("PATCH", "/surveys/taste", json={"questions": TWICE})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == {
        "code": "duplicate_question_id",
        "message": "question id 'a' is used twice; question ids must be unique",
        "field": "questions",
        "params": {},
    }
    assert (await api.call("GET", "/surveys/taste")).json()["questions"][0]["id"] == "q"
    for method, path in (("post", "/surveys"), ("patch", "/surveys/{key}")):
        rules = _operation(method, path)["responses"]["422"]["x-rule-codes"]
        assert "duplicate_question_id" in rules


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/surveys", {**SURVEY, "follow_up_detractors": 0}),
        ("GET", "/reviews?published=0", None),
        ("GET", "/reviews?needs_follow_up=yes", None),
        ("GET", "/surveys/taste/invitations?pending=1", None),
        ("GET", "/tickets?breached=off", None),
        ("GET", "/members/1/ledger?cursor=46454068174942223063", None),
    ],
)
async def test_what_the_schema_calls_invalid_is_refused(
    api: Api, method: str, path: str, body: object
) -> None:
    """A flag is ``true`` or ``false`` (not ``0``, ``yes``, ``off``); a ledger cursor that
    no entry id can be (20 digits, past 2**63: 500 on PostgreSQL) is not one."""
    response = await api.call(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert (await api.call("GET", "/surveys/taste")).status_code == 404


async def test_an_unknown_coupon_in_a_quote_is_declared(api: Api) -> None:
    body = {
        "currency": "RUB",
        "lines": [{"sku": "s", "quantity": 1, "unit_price": "10"}],
        "coupon_codes": ["NO-SUCH"],
    }
    response = await api.call("POST", "/checkout/quote", json=body)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "coupon_not_found"
    assert "coupon_not_found" in _codes("post", "/checkout/quote", "404")
    assert "coupon_used" in _codes("post", "/checkout/quote", "409")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/reviews", {"rating": 5, "sku": "a\x00"}, "sku"),
        ("/reviews", {"rating": 5, "store": "a\x00"}, "store"),
        ("/reviews", {"rating": 5, "idempotency_key": "a\x00"}, "idempotency_key"),
        ("/members", {"external_id": "n1", "attributes": {"a": "x\x00"}}, "attributes"),
        ("/members", {"external_id": "n1", "attributes": {"a\x00": 1}}, "attributes"),
        ("/members", {"external_id": "n1\x00"}, "external_id"),
        ("/members/batch", {"members": [{"external_id": "n1\x00"}]}, "members[0].external_id"),
    ],
)
async def test_a_nul_in_a_body_is_refused_as_the_schema_says(
    api: Api, path: str, body: dict[str, object], field: str
) -> None:
    """PostgreSQL text and JSONB hold no NUL: these answered 500 there."""
    member = await api.call("POST", "/members", json={"external_id": "reviewer"})
    if path == "/reviews":
        body = {**body, "member_id": member.json()["id"]}
    response = await api.call("POST", path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"].split(".")[0]) == (
        "validation_error",
        field.split(".")[0],
    )
    assert (await api.call("GET", "/members/by-external-id/n1")).status_code == 404


COMPONENTS: dict[str, Any] = create_app().openapi()["components"]["schemas"]


def _strings(
    schema: dict[str, Any], at: str, seen: frozenset[str]
) -> list[tuple[str, dict[str, Any]]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else _strings(COMPONENTS[name], name, seen | {name})
    found = [(at, schema)] if schema.get("type") == "string" else []
    for name, inner in schema.get("properties", {}).items():
        found += _strings(inner, f"{at}.{name}", seen)
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict):
            found += _strings(schema[key], f"{at}[{key}]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for inner in schema.get(key, ()):
            found += _strings(inner, at, seen)
    return found


def _numbers(schema: dict[str, Any], at: str, seen: frozenset[str]) -> list[tuple[str, Any]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else _numbers(COMPONENTS[name], name, seen | {name})
    found = [(at, schema)] if schema.get("type") in ("integer", "number") else []
    for name, inner in schema.get("properties", {}).items():
        found += _numbers(inner, f"{at}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += _numbers(schema[key], f"{at}[{key}]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for inner in schema.get(key, ()):
            found += _numbers(inner, at, seen)
    return found


def test_every_bound_of_a_body_number_is_an_exact_json_number() -> None:
    """A JSON body's numbers are doubles to most clients and schema checkers: a maximum of
    2**63 - 1 let ``{"event_id": 9223372036854775999}`` pass the schema (the two are the same
    double) while the API refused it. Body bounds stay within 2**53 (paths and queries are
    text and may go to 2**63 - 1)."""
    beyond = []
    for path, item in create_app().openapi()["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            for body in content.values():
                for at, number in _numbers(body.get("schema", {}), "body", frozenset()):
                    for key in ("maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"):
                        if abs(number.get(key, 0)) > 2**53:
                            beyond.append(f"{method} {path} {at} {key}")
    assert beyond == []


def test_every_text_the_api_takes_refuses_nul_in_the_schema() -> None:
    """A string in a parameter or a JSON body states that it holds no NUL (its pattern, an
    enum or a format), as the API refuses one: the texts of ``/feedback/analyze`` are not
    stored and may hold anything, the program file of ``PUT /program`` is YAML text."""
    document = create_app().openapi()
    loose = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            places = [(p["name"], p["schema"]) for p in operation.get("parameters", ())]
            content = operation.get("requestBody", {}).get("content", {})
            if path != "/api/v1/program":
                places += [("body", c["schema"]) for c in content.values() if "schema" in c]
            for name, schema in places:
                for at, string in _strings(schema, name, frozenset()):
                    if {"enum", "format", "const"} & set(string) or at.startswith("AnalyzeRequest"):
                        continue
                    pattern = string.get("pattern", "")
                    if not re.fullmatch(r"^\^.*\$$", pattern) or re.match(pattern, "a\x00b"):
                        loose.append(f"{method} {path} {at}")
    assert loose == []


def _valid(schema: dict[str, Any], value: object) -> bool:
    document = {**schema, "components": {"schemas": COMPONENTS}}
    return jsonschema_rs.Draft202012Validator(document).is_valid(value)


async def test_a_product_without_a_name_is_invalid_in_the_schema_too(api: Api) -> None:
    """Schemathesis: ``{"sku": "0", "names": {}, "name": null}`` was schema-valid, refused."""
    product = {"$ref": "#/components/schemas/ProductWrite"}
    for body in ({"sku": "0", "names": {}, "name": None}, {"sku": "0"}):
        assert not _valid(product, body)
        response = await api.call("POST", "/products", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (422, "validation_error")
    for body in ({"sku": "0", "name": "N"}, {"sku": "1", "names": {"pl": "N"}, "name": None}):
        assert _valid(product, body)
        assert (await api.call("POST", "/products", json=body)).status_code == 201
    listed = await api.call("GET", "/products?active=0")
    assert (listed.status_code, listed.json()["error"]["field"]) == (422, "active")
    assert len((await api.call("GET", "/products?active=true")).json()["items"]) == 2


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://hooks.example.com/patron", True),
        ("HTTP://hooks.example.com/a?b=c", True),
        ("https://hooks.example.com/a b", False),
        ("https://hooks.example.com/\x00", False),
        ("https://hooks.example.com/\t", False),
        ("https://", False),
        ("ftp://hooks.example.com/", False),
    ],
)
async def test_a_webhook_url_states_its_characters(api: Api, url: str, valid: bool) -> None:
    """The URL pattern ends the text (``$``): a NUL answered 500 on PostgreSQL, and spaces
    or controls were refused by a rule the schema did not state."""
    create = {"$ref": "#/components/schemas/WebhookCreate"}
    assert _valid(create, {"url": url, "events": ["*"]}) is valid
    if not valid:
        response = await api.call("POST", "/webhooks", json={"url": url, "events": ["*"]})
        assert (response.status_code, response.json()["error"]["field"]) == (422, "url")
        assert (await api.call("GET", "/webhooks")).json() == []


async def test_a_dead_letter_handler_holds_no_nul(api: Api) -> None:
    retry = {"$ref": "#/components/schemas/RetryRequest"}
    assert not _valid(retry, {"handler": "a\x00"})
    response = await api.call("POST", "/events/dead/retry", json={"handler": "a\x00"})
    assert (response.status_code, response.json()["error"]["field"]) == (422, "handler")
    response = await api.call("POST", "/events/dead/retry", json={"handler": "a"})
    assert response.json() == {"retried": 0}


def test_the_body_limit_is_stated_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body's size in bytes is no JSON-schema rule: each 413 states the limit the guard
    applies (``x-max-body-bytes``), so a client (and the contract run) can tell a body too
    large from a refused valid one."""
    for path in ("/feedback/analyze", "/members"):
        assert _operation("post", path)["responses"]["413"]["x-max-body-bytes"] == 1024 * 1024
    assert _operation("post", "/purchases/batch")["responses"]["413"]["x-max-body-bytes"] == (
        8 * 1024 * 1024
    )
    assert "413" not in _operation("get", "/members/{member_id}")["responses"]
    monkeypatch.setenv("PATRON_MAX_BODY_BYTES", "2048")
    stated = create_app().openapi()["paths"]["/api/v1/members"]["post"]["responses"]["413"]
    assert stated["x-max-body-bytes"] == 2048
    assert "2048 bytes" in stated["description"]


async def test_a_body_over_the_stated_limit_is_413(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schemathesis sent 1,001 texts of 5,000 characters to ``/feedback/analyze`` (2.5 MB):
    413 before the body is read, as the document states."""
    body = {"texts": ["0" * 5000] * 1001}
    response = await api.call("POST", "/feedback/analyze", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert (
        "1048576 bytes"
        in _operation("post", "/feedback/analyze")["responses"]["413"]["description"]
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/events/dead/retry", {"event_id": True}, "event_id"),
        ("/events/dead/retry", {"run_id": False}, "run_id"),
        ("/redemptions", {"member_id": True}, "member_id"),
        ("/reviews", {"member_id": True, "rating": 4.0}, "member_id"),
        ("/tickets/1/goodwill", {"points": True}, "points"),
        ("/purchases/1/returns", {"lines": [{"line_no": True, "quantity": 1}]}, "line_no"),
        ("/purchases/1/returns", {"lines": [{"line_no": 1, "quantity": True}]}, "quantity"),
        (
            "/checkout/quote",
            {"currency": "RUB", "lines": [{"sku": "s", "quantity": True, "unit_price": "1"}]},
            "quantity",
        ),
    ],
)
async def test_true_is_not_a_whole_number(
    api: Api, path: str, body: dict[str, object], field: str
) -> None:
    """Schemathesis: ``{"event_id": true}`` was read as 1 and retried (the schema says
    integer); ``4.0`` stays a whole number, as JSON Schema counts it."""
    response = await api.call("POST", path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in {detail["field"].rsplit(".", 1)[-1] for detail in error["details"]}


async def test_every_keyed_operation_declares_the_bearer_scheme(api: Api) -> None:
    """``/openapi.json`` declares HTTP bearer on each operation that takes a key (so ``/docs``
    has its "Authorize" button); an operation declaring it does answer 401 without a key. The
    pages a member opens without a key (``/s/{token}``, ``/u/{token}``) and ``/healthz`` are
    not in the document; an operation without a key would declare no scheme (below)."""
    document = create_app().openapi()
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    keyed = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("security") == [{"bearerAuth": []}], f"{method} {path}"
            assert "401" in operation["responses"], f"{method} {path}"
            keyed.append((method, path))
    assert len(keyed) > 50
    assert not {"/s/{token}", "/u/{token}", "/healthz", "/metrics"} & set(document["paths"])
    for method, path in keyed[::7]:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        answered = await api.client.request(method.upper(), concrete)
        assert answered.status_code == 401, f"{method} {path}"


def test_an_operation_without_a_key_declares_no_scheme() -> None:
    from fastapi import Depends, FastAPI

    from patron.api.deps import principal
    from patron.api.responses import install_error_responses

    app = FastAPI()

    @app.get("/open")
    async def open_page() -> dict[str, str]:
        return {}

    @app.get("/keyed", dependencies=[Depends(principal)])
    async def keyed_page() -> dict[str, str]:
        return {}

    install_error_responses(app, lambda _path: 1024)
    paths = app.openapi()["paths"]
    assert "security" not in paths["/open"]["get"]
    assert paths["/keyed"]["get"]["security"] == [{"bearerAuth": []}]
