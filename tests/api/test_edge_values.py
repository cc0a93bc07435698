"""Numbers and text at the edges answer 4xx, never 500 (issue 16).

A property test over every operation of the app (the role matrix's ``MATRIX``: each entry's
sample request, sent with a key its route admits): hypothesis takes the sample and puts edge
values into one or two of its places (a path parameter, a query parameter the operation
declares in ``/openapi.json``, a field of its JSON body or form, at any depth): integers at and
past 64 bits, amounts whose product passes 64 bits, days and moments in year 1 and 9999 with
offsets that carry them out of the calendar, huge cursors, a NUL byte and lone surrogates. The
answer is never a 5xx, and an error answer (4xx JSON) has the API's error shape with its code
and field. ``PATRON_EDGE_EXAMPLES`` sets the examples per operation (default 10).

Lone surrogates are sent as JSON escapes (``"\\ud800"``), the only way a client can send one:
the body itself is valid UTF-8.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.kit.instant import EARLIEST, LATEST, YEARS, checked_day, checked_instant
from tests.api.conftest import Api
from tests.api.test_role_matrix import (
    CAMPAIGNS_PROGRAM,
    MATRIX,
    Entry,
    Prepared,
    _Drawn,
    prepared_app,
)

EXAMPLES = int(os.environ.get("PATRON_EDGE_EXAMPLES", "10"))

BIG_INTS = [2**63, 2**63 - 1, 2**53 + 1, -(2**63) - 1, 2**64, 10**30, 1_000_000, -1, 0]
NUMBER_TEXTS = [
    "9223372036854775808",
    "99999999999999999999999999.99",
    "999999999999999.9999",
    "92233720368547758.08",
    "1e400",
    "-0.01",
    "0.001",
    "1.5\n",  # a trailing newline (a `$` with `re.match` let one through)
    "١٢.٥٠",  # other scripts' digits: `\\d` matches them in Python and in pydantic's patterns
]
DAYS = ["0001-01-01", "9999-12-31", "0000-01-01", "10000-01-01"]
MOMENTS = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T05:00:00+12:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T20:00:00-12:00",
]
TEXTS = ["a\x00b", "\x00", "\ud800", "x\udfffy", "\udbff\udc00\ud800", "é" * 300]
CURSORS = ["9" * 18, "9" * 19, "9" * 40, "-1"]

# text at the edges inside an object or a list (JSON columns: PostgreSQL's jsonb refuses
# \u0000 too)
NESTED = [{"a": "b\x00"}, {"a\x00": 1}, {"s": "\ud800"}, {"n": 2**64}, ["\x00", "\udc00"]]
EDGE_VALUES = st.sampled_from(
    [*BIG_INTS, *NUMBER_TEXTS, *DAYS, *MOMENTS, *TEXTS, *CURSORS, *NESTED, 1.5e308, -0.0]
)
TEXT_EDGES = st.sampled_from([*NUMBER_TEXTS, *DAYS, *MOMENTS, *TEXTS, *CURSORS, "2**63"])

_OPERATIONS = sorted(
    (method, path) for (method, path), entry in MATRIX.items() if entry.sample.content is None
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def edges(database_url_for_tests: str) -> AsyncIterator[Prepared]:
    async with prepared_app(database_url_for_tests) as ready:
        yield ready


class _Kept(_Drawn):
    """Values of one call that never use a pool up: the objects drawn before stay drawable
    (one used already answers 4xx, which is as good a target as any)."""

    def __missing__(self, name: str) -> int | str:
        pools = self.prepared.pools
        if name in pools:
            self[name] = pools[name][-1]
        elif name in self.prepared.values:
            self[name] = self.prepared.values[name]
        else:
            self[name] = 1
        return self[name]


def _openapi(prepared: Prepared) -> dict[str, Any]:
    transport = prepared.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    document: dict[str, Any] = transport.app.openapi()  # type: ignore[attr-defined]
    return document


def _operation(prepared: Prepared, method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = (
        _openapi(prepared).get("paths", {}).get(path, {}).get(method.lower(), {})
    )
    return found


def _query_names(prepared: Prepared, method: str, path: str) -> list[str]:
    operation = _operation(prepared, method, path)
    return sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")


def _body_fields(prepared: Prepared, method: str, path: str) -> list[str]:
    """The top-level fields of the operation's JSON body, as ``/openapi.json`` declares them
    (those the sample leaves out too)."""
    content = _operation(prepared, method, path).get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    reference = schema.get("$ref", "")
    if reference.startswith("#/components/schemas/"):
        schema = _openapi(prepared)["components"]["schemas"][reference.rsplit("/", 1)[1]]
    return sorted(schema.get("properties", {}))


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _leaves(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The places in a JSON value: every key and item, at any depth."""
    places: list[tuple[Any, ...]] = [at] if at else []
    if isinstance(value, dict):
        for key, item in value.items():
            places += _leaves(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            places += _leaves(item, (*at, index))
    return places


def _put(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    fits = isinstance(value, dict) and (len(at) == 1 or at[0] in value)
    if not (fits or (isinstance(value, list) and isinstance(at[0], int) and at[0] < len(value))):
        return value  # an edge value already replaced the place around this one
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[at[0]] = new if len(at) == 1 else _put(copy[at[0]], at[1:], new)
    return copy


def _url_part(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    # a lone surrogate has no UTF-8: its bytes as a careless encoder writes them
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _has_error_shape(response: httpx.Response) -> bool:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error, dict) and {"code", "field"} <= error.keys()


async def _send(
    prepared: Prepared, method: str, path: str, entry: Entry, data: st.DataObject
) -> tuple[httpx.Response, list[str]]:
    drawn = _Kept(prepared, n=next(prepared.counter))
    sample = entry.sample
    body = drawn.fill(sample.json)
    form = drawn.fill(sample.form)
    query: dict[str, Any] = drawn.fill(sample.query) or {}
    path_values = {name: str(drawn[name]) for name in _path_names(path)}
    places: list[tuple[str, Any]] = [("path", name) for name in path_values]
    places += [("query", name) for name in _query_names(prepared, method, path)]
    leaves = _leaves(body)
    places += [("body", at) for at in leaves]
    if isinstance(body, dict):
        fields = _body_fields(prepared, method, path)
        places += [("body", (name,)) for name in fields if (name,) not in leaves]
    places += [("form", name) for name in form or {}]
    changed: list[str] = []
    if places:
        count = data.draw(st.integers(1, min(2, len(places))), label="places")
        for place, at in data.draw(
            st.lists(st.sampled_from(places), min_size=count, max_size=count, unique=True),
            label="where",
        ):
            if place == "body":
                body = _put(body, at, data.draw(EDGE_VALUES, label=f"body {at}"))
            elif place == "form":
                form = {**form, at: data.draw(TEXT_EDGES, label=f"form {at}")}
            elif place == "query":
                query[at] = data.draw(EDGE_VALUES, label=f"query {at}")
            else:
                path_values[at] = data.draw(EDGE_VALUES, label=f"path {at}")
            changed.append(f"{place} {at}")
    if path_values and (sample.path is None or any(c.startswith("path") for c in changed)):
        url = path.format_map({name: _url_part(value) for name, value in path_values.items()})
    else:
        url = drawn.fill(sample.path or path)
    url += "?" + "&".join(f"{quote(k)}={_url_part(v)}" for k, v in query.items()) if query else ""
    headers = {}
    if entry.roles:
        headers["Authorization"] = f"Bearer {prepared.keys[sorted(entry.roles)[0]]}"
    content: bytes | None = None
    if body is not None:
        # escapes, not UTF-8: json.dumps writes a lone surrogate as \ud800
        content = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        content = "&".join(f"{quote(k)}={_url_part(v)}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = await prepared.client.request(method, url, headers=headers, content=content)
    return response, changed


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("method", "path"), _OPERATIONS, ids=[f"{m} {p}" for m, p in _OPERATIONS])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_edge_values_answer_4xx_never_5xx(
    edges: Prepared, method: str, path: str, data: st.DataObject
) -> None:
    response, changed = await _send(edges, method, path, MATRIX[(method, path)], data)
    assert response.status_code < 500, (changed, response.text[:500])
    is_json = response.headers.get("content-type", "").startswith("application/json")
    if response.status_code >= 400 and (path.startswith("/api/") or is_json):
        assert _has_error_shape(response), (changed, response.text[:500])


# --- the 500s the walk found, each held by name ---------------------------------------------


@pytest.mark.parametrize("path", ["/tickets/kpis", "/tickets/returns-stats"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("from", "0001-01-01T00:00:00+14:00"),  # the year 0 in UTC
        ("to", "9999-12-31T23:59:59-14:00"),  # the year 10000 in UTC
        ("from", "9999-12-31T23:59:59Z"),  # the year 10000 in the program's time zone
    ],
)
async def test_a_moment_out_of_every_zone_s_calendar_is_refused(
    api: Api, path: str, name: str, value: str
) -> None:
    response = await api.call("GET", path, role="staff", params={name: value})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == name


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/keys",
            {"name": "k", "role": "pos", "expires_at": "9999-12-31T23:59:59-14:00"},
            "expires_at",
        ),
        (
            "/campaigns",
            {
                "key": "c-edge",
                "name": {"en": "C"},
                "window": {"start": "2027-03-01", "end": "9999-12-31"},
                "effect": {"bonus_points": 10},
            },
            "window.end",
        ),
        (
            "/campaigns",
            {
                "key": "c-edge",
                "name": {"en": "C"},
                "window": {"start": "0001-01-01", "end": "2027-03-31"},
                "effect": {"bonus_points": 10},
            },
            "window.start",
        ),
    ],
)
async def test_a_body_moment_out_of_the_calendar_is_refused(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = await api.call("POST", path, json=body)
    assert response.status_code == 422, response.text
    # a campaign is validated as the program's: campaigns[0].window.end
    assert response.json()["error"]["field"].endswith(field)


def test_an_instant_is_written_in_the_years_0002_to_9998_and_lies_within_the_utc_range() -> None:
    assert checked_instant(datetime(2026, 3, 1, 9, 30)) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    first = datetime(2, 1, 1, tzinfo=ZoneInfo("Pacific/Kiritimati"))  # +14: 0001-12-31 in UTC
    last = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=ZoneInfo("Etc/GMT+12"))  # -12
    for moment in (first, last):
        assert EARLIEST <= checked_instant(moment) <= LATEST
    for moment in (
        datetime(1, 12, 31, 23, 59, 59, tzinfo=UTC),  # format date-time, but the year 0001
        datetime(9999, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=ZoneInfo("Pacific/Kiritimati")),  # the year 0 in UTC
    ):
        with pytest.raises(ValueError, match="must be a moment in a year from 0002 to 9998"):
            checked_instant(moment)
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):  # +14 and -12: either end stays in range
        EARLIEST.astimezone(ZoneInfo(zone))
        LATEST.astimezone(ZoneInfo(zone))


def test_the_schema_states_the_years_it_takes() -> None:
    """The schema's ``pattern`` and the validator agree on every year: what the schema calls
    valid is taken (schemathesis sent ``0001-01-01T00:00:00Z``, format date-time, and got a
    422), and what it calls invalid is refused."""
    pattern = re.compile(YEARS)
    for year in range(1, 10000):
        written = f"{year:04d}-06-15"
        try:
            checked_day(date(year, 6, 15))
            taken = True
        except ValueError:
            taken = False
        assert bool(pattern.match(written)) == taken, written


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('name: "Demo Store Rewards"', 'name: "Demo\\0 Store"', "program.name"),
        ('name: "Demo Store Rewards"', 'name: "Demo \\ud800 Store"', "program.name"),
        # an expiry past the calendar's end: the program was taken, then every purchase a 500
        ("after_months: 12 ", "after_months: 99999999999 ", "earning.expiry.after_months"),
        ("after_months: 12 ", "after_days: 99999999999 ", "earning.expiry.after_days"),
        ('between: ["2026-12-01", "2026-12-31"]', 'between: ["2026-12-01", "9999-12-31"]', None),
    ],
)
async def test_a_program_file_at_the_edges_is_refused_or_works(
    api: Api, old: str, new: str, field: str | None
) -> None:
    """``PUT /program`` takes YAML, not JSON: the walk above leaves it out, so its edges are
    here. A program that is taken must keep purchases working."""
    text = CAMPAIGNS_PROGRAM.read_text()
    assert old in text
    response = await api.client.put(
        "/api/v1/program",
        content=text.replace(old, new).encode(),
        headers={**api.as_role("admin"), "Content-Type": "application/yaml"},
    )
    if field is not None:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
        return
    assert response.status_code == 200, response.text
    await api.call("POST", "/members", json={"external_id": "edge-1"}, role="pos")
    purchase = {
        "external_id": "edge-p",
        "member_external_id": "edge-1",
        "occurred_at": "2026-12-05T10:00:00Z",
        "currency": "RUB",
        "total": "100.00",
        "lines": [{"sku": "t", "category": "tea", "quantity": 1, "unit_price": "100.00"}],
    }
    answer = await api.call("POST", "/purchases", json=purchase, role="pos")
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("character", ["\x01", "\x7f", "\x1b"])
async def test_a_program_file_with_a_control_character_is_refused(api: Api, character: str) -> None:
    """A character YAML does not allow anywhere (not an escape inside quotes: the character
    itself) is a problem at its line and column, not a 500 (found by submitting the console's
    program form with one)."""
    text = CAMPAIGNS_PROGRAM.read_text()
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "Demo Store Rewards" in row)
    response = await api.client.put(
        "/api/v1/program",
        content=text.replace("Demo Store", f"Demo{character} Store", 1).encode(),
        headers={**api.as_role("admin"), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "program_invalid"
    assert error["field"].startswith(f"line {line}, column ")
    assert f"U+{ord(character):04X}" in error["message"]
