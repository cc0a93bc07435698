"""Request logs and metrics (issue 16, part 4): one JSON line per request with its route
template, never a member's personal data, a key or a token; ``/metrics`` for admin keys."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from patron.kit.logs import JsonFormatter, configure_logging, exception_text
from tests.api.conftest import Api


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What Patron logs during the test, as ``patron serve`` writes it (JSON lines)."""
    stream = io.StringIO()
    root = logging.getLogger()
    old_handlers, old_level = list(root.handlers), root.level
    patron_level = logging.getLogger("patron").level
    configure_logging({}, stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in old_handlers:
            root.removeHandler(handler)
    root.setLevel(old_level)
    logging.getLogger("patron").setLevel(patron_level)


def _requests(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    return [line for line in lines if line["logger"] == "patron.request"]


async def test_a_request_is_one_line_with_its_route_template(
    api: Api, log_lines: io.StringIO
) -> None:
    created = await api.call(
        "POST", "/members", json={"external_id": "card-1", "phone": "+48 601 234 567"}
    )
    assert created.status_code == 201, created.text
    member_id = created.json()["id"]
    found = await api.call("GET", f"/members/{member_id}", role="staff")
    assert found.status_code == 200
    first, second = _requests(log_lines)
    assert first["route"] == "/api/v1/members"
    assert (first["method"], first["status"], first["event"]) == ("POST", 201, "request")
    assert second["route"] == "/api/v1/members/{member_id}"
    assert second["key_id"] is not None
    assert second["key_id"] != first["key_id"]
    assert second["level"] == "info"
    assert second["duration_ms"] >= 0
    assert second["request_id"] == found.headers["x-request-id"]
    assert len(second["request_id"]) == 16
    assert first["request_id"] != second["request_id"]


async def test_a_safe_request_id_is_taken_and_echoed(api: Api, log_lines: io.StringIO) -> None:
    mine = "till-3:2026.12.05_0001"
    answered = await api.client.get("/healthz", headers={"X-Request-ID": mine})
    assert answered.headers["x-request-id"] == mine
    for unsafe in ("a b", "x" * 65, "<script>", "über".encode(), ""):
        answered = await api.client.get("/healthz", headers={"X-Request-ID": unsafe})
        assert answered.headers["x-request-id"] not in (unsafe, "über")
        assert len(answered.headers["x-request-id"]) == 16
    ids = [line["request_id"] for line in _requests(log_lines)]
    assert ids[0] == mine
    assert len(set(ids)) == 6


async def test_refusals_are_named(api: Api, log_lines: io.StringIO) -> None:
    assert (await api.call("GET", "/members", role=None)).status_code == 401
    bad = {"Authorization": "Bearer not-a-key"}
    assert (await api.client.get("/api/v1/members/7", headers=bad)).status_code == 401
    too_big = b"{" + b" " * (1024 * 1024 + 1) + b"}"
    refused = await api.client.post(
        "/api/v1/members",
        content=too_big,
        headers={**api.as_role("admin"), "content-type": "application/json"},
    )
    assert refused.status_code == 413
    missing, unknown, large = _requests(log_lines)
    assert (missing["event"], missing["reason"], missing["level"]) == (
        "auth_failed",
        "missing_api_key",
        "warning",
    )
    assert (unknown["reason"], unknown["route"]) == (
        "invalid_api_key",
        "/api/v1/members/{member_id}",
    )
    assert unknown["key_id"] is None
    assert (large["event"], large["reason"], large["status"]) == (
        "refused",
        "payload_too_large",
        413,
    )


async def test_a_route_that_does_not_exist_is_logged_without_its_path(
    api: Api, log_lines: io.StringIO
) -> None:
    answered = await api.call("GET", "/no-such-thing/+48601234567")
    assert answered.status_code == 404
    (line,) = _requests(log_lines)
    assert line["route"] is None
    assert "48601234567" not in log_lines.getvalue()


def test_an_exception_is_logged_by_type_and_frames_never_its_message() -> None:
    email, phone = "jan.kowalski@example.com", "+48601234567"

    def fail() -> None:  # (the frames quote the code's lines: the values come from outside)
        try:
            raise KeyError(email)
        except KeyError as error:
            raise ValueError(f"phone {phone} is taken") from error

    try:
        fail()
    except ValueError:
        record = logging.LogRecord(
            "patron.request",
            logging.ERROR,
            __file__,
            1,
            "error",
            None,
            __import__("sys").exc_info(),
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["error"] == "builtins.ValueError"
    assert "in fail" in line["traceback"]
    assert "builtins.KeyError" in line["traceback"]
    assert "kowalski" not in line["traceback"]
    assert "48601234567" not in line["traceback"]
    assert exception_text(record.exc_info[1]) == line["traceback"]  # type: ignore[index, arg-type]


def test_bad_log_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="PATRON_LOG_LEVEL"):
        configure_logging({"PATRON_LOG_LEVEL": "loud"})
    with pytest.raises(ValueError, match="PATRON_LOG_FORMAT"):
        configure_logging({"PATRON_LOG_FORMAT": "xml"})


async def test_a_whole_scenario_logs_no_personal_data_no_key_and_no_token(
    api: Api, log_lines: io.StringIO
) -> None:
    """Enrol a member with name, email and phone, find them by phone, buy, redeem, consume,
    send a bad key, open and answer a survey link and an unsubscribe link, fail a request with
    an exception: at the most verbose level, the logs name none of it."""
    from datetime import UTC, datetime, timedelta

    from patron.kit.time import utcnow
    from patron.members import card
    from patron.notifications import tokens
    from tests.feedback.factories import NPS_SURVEY

    # as PATRON_LOG_LEVEL=debug: Patron's loggers at debug, other libraries' at warning (at
    # info, httpx would log each URL it calls: the test client's here, a webhook's in a worker)
    logging.getLogger("patron").setLevel(logging.DEBUG)
    name, email, phone = "Zofia Wiśniewska-Quarx", "zofia.quarx@example.org", "+48 601 987 654"
    member = await api.call(
        "POST",
        "/members",
        role="pos",
        json={"external_id": "card-77123", "name": name, "email": email, "phone": phone},
    )
    assert member.status_code == 201, member.text
    member_id = member.json()["id"]
    by_phone = await api.call("GET", "/members/by-phone/+48601987654", role="pos")
    assert by_phone.status_code == 200, by_phone.text
    at = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    purchase = {
        "external_id": "receipt-55501",
        "member_external_id": "card-77123",
        "occurred_at": at,
        "currency": "RUB",
        "total": "20000.00",
        "lines": [{"sku": "tea-1", "category": "tea", "quantity": 1, "unit_price": "20000.00"}],
    }
    assert (await api.call("POST", "/purchases", role="pos", json=purchase)).status_code == 201
    async with api.database.write() as session:
        key = await tokens.signing_key(session, utcnow())
    card_token = card.sign_card_token(
        key, member_id=member_id, expires_at=card.expiry_of_new_token(utcnow())
    )
    by_token = await api.call("GET", f"/members/by-token/{card_token}", role="pos")
    assert by_token.status_code == 200, by_token.text
    redeemed = await api.call(
        "POST",
        "/redemptions",
        role="pos",
        json={"member_id": member_id, "reward_code": "DISC10"},
        headers={"X-Patron-Member-Token": card_token},
    )
    assert redeemed.status_code == 201, redeemed.text
    code = redeemed.json()["coupon_code"]
    assert (await api.call("GET", f"/coupons/{code}", role="pos")).status_code == 200
    assert (await api.call("GET", "/coupons/NOPE-NOPE-NOPE", role="pos")).status_code == 404
    bad_key = "ptr_" + "Q" * 43
    refused = await api.client.get(
        f"/api/v1/members/{member_id}", headers={"Authorization": f"Bearer {bad_key}"}
    )
    assert refused.status_code == 401
    assert (await api.call("POST", "/surveys", json=NPS_SURVEY)).status_code == 201
    invited = await api.call(
        "POST", "/surveys/nps/invitations", json={"member_ids": [member_id], "source_ref": "l1"}
    )
    token = invited.json()["invitations"][0]["token"]
    assert (await api.client.get(f"/s/{token}")).status_code == 200
    assert (await api.client.post(f"/s/{token}", data={"nps": "9"})).status_code == 200
    assert (await api.client.get(f"/s/{token}x")).status_code == 404
    unsubscribe = tokens.make_token(key, member_id, "email")
    assert (await api.client.get(f"/u/{unsubscribe}")).status_code == 200
    exported = await api.call("GET", f"/members/{member_id}/export")
    assert exported.status_code == 200

    text = log_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line]
    routes = {line.get("route") for line in lines if line["logger"] == "patron.request"}
    assert {"/api/v1/members/by-phone/{phone}", "/s/{token}", "/u/{token}"} <= routes
    assert "/api/v1/members/by-token/{token}" in routes
    assert "/api/v1/purchases" in routes  # the direct lane's route
    assert "/api/v1/coupons/{code}" in routes
    assert any(line.get("event") == "auth_failed" for line in lines)
    secrets = [email, "zofia.quarx", phone, "601987654", "601 987 654", name, "Quarx", bad_key]
    secrets += [*api.keys.values(), token, unsubscribe, code, "card-77123", "receipt-55501"]
    secrets += [card_token, card_token.rsplit(".", 1)[1]]
    found = [secret for secret in secrets if secret in text]
    assert found == []


async def test_an_error_is_logged_with_its_traceback_and_answered_500(
    database: Any, log_lines: io.StringIO
) -> None:
    import httpx

    from patron.api.app import create_app

    app = create_app(database.url)
    app.state.database = database
    phone = "+48601555444"

    @app.get("/boom/{anything}")
    async def boom(anything: str) -> None:
        raise RuntimeError(f"cannot reach {phone}")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://patron.test") as client:
        answered = await client.get(f"/boom/{phone}", headers={"X-Request-ID": "r-1"})
    assert (answered.status_code, answered.headers["x-request-id"]) == (500, "r-1")
    (line,) = _requests(log_lines)
    assert (line["event"], line["level"], line["route"]) == ("error", "error", "/boom/{anything}")
    assert line["error"] == "builtins.RuntimeError"
    assert "in boom" in line["traceback"]
    assert "48601555444" not in log_lines.getvalue()


def test_the_text_format_has_the_same_fields() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging({"PATRON_LOG_FORMAT": "text"}, stream=stream)
        logging.getLogger("patron.request").info(
            "request", extra={"route": "/healthz", "status": 200}
        )
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
    line = stream.getvalue()
    assert " INFO patron.request request route=/healthz status=200" in line
    assert line.startswith("20")
    assert "+00:00 " in line


async def test_a_direct_purchase_names_its_route_without_walking_the_routes(
    api: Api, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The direct lane (api/direct.py) skips FastAPI's routing to save its walk over the
    routes; the log finds its template on the scope instead of walking them itself."""
    from patron.api.observe import RouteTemplates

    def no_walk(self: RouteTemplates, scope: Any) -> str | None:
        raise AssertionError(f"walked the routes for {scope['path']}")

    monkeypatch.setattr(RouteTemplates, "walk", no_walk)
    member = await api.call("POST", "/members", json={"external_id": "m-direct"})
    assert member.status_code == 201
    purchase = {
        "external_id": "r-direct",
        "member_external_id": "m-direct",
        "occurred_at": "2026-01-02T10:00:00+00:00",
        "currency": "RUB",
        "total": "100.00",
        "lines": [{"sku": "tea", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
    }
    assert (await api.call("POST", "/purchases", role="pos", json=purchase)).status_code == 201
    assert _requests(log_lines)[-1]["route"] == "/api/v1/purchases"
