"""``GET /analytics/rfm`` and ``GET /members/{id}/insights``: answers and filters (the roles:
``tests/api/test_role_matrix.py``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from patron.worker.segments import refresh_segments
from tests.api.conftest import Api
from tests.api.paging import assert_each_once
from tests.segments.factories import EXPECTED, NOW, build_store


async def test_member_insights(api: Api) -> None:
    ids = await build_store(api.database)
    await refresh_segments(api.database, now=NOW)
    response = await api.call("GET", f"/members/{ids['m9']}/insights", role="staff")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["member_id"], body["scored"]) == (ids["m9"], True)
    scores = body["scores"]
    assert (
        scores["recency_days"], scores["frequency"], scores["monetary"], scores["recency_score"],
        scores["frequency_score"], scores["monetary_score"], scores["rfm_segment"],
    ) == EXPECTED["m9"]  # fmt: skip
    assert scores["currency"] == "RUB"
    assert scores["groups"] == {
        "high_value": True,
        "regular": False,
        "category_lover": True,
        "favourite_category": "tea",
        "favourite_category_share": pytest.approx(5 / 9),
    }
    assert 0 < scores["p_alive"] < 1
    assert (scores["previous_p_alive"], scores["expected_purchases"], scores["clv"]) == (
        None,
        None,
        None,
    )
    assert (scores["horizon_days"], scores["at_risk"]) == (365, False)
    assert scores["computed_at"] == "2026-06-01T12:00:00Z"


async def test_member_without_purchases_and_unknown_member(api: Api) -> None:
    ids = await build_store(api.database)
    await refresh_segments(api.database, now=NOW)
    none = await api.call("GET", f"/members/{ids['m11']}/insights")
    assert none.status_code == 200
    assert none.json() == {"member_id": ids["m11"], "scored": False, "scores": None}
    unknown = await api.call("GET", f"/members/{ids['m11'] + 1000}/insights")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "member_not_found"


async def test_rfm_overview_and_pages(api: Api) -> None:
    ids = await build_store(api.database)
    empty = (await api.call("GET", "/analytics/rfm")).json()
    assert (empty["members"], empty["computed_at"], empty["page"]) == (0, None, None)
    assert all(cell["members"] == 0 for cell in empty["grid"])
    await refresh_segments(api.database, now=NOW)
    overview = (await api.call("GET", "/analytics/rfm", role="staff")).json()
    assert (overview["program"], overview["members"]) == ("default", 10)
    assert overview["segments"][0] == {"segment": "hibernating", "members": 2}
    assert overview["grid"][0] == {
        "recency_score": 5, "frequency_score": 1, "segment": "new", "members": 1
    }  # fmt: skip
    assert len(overview["grid"]) == 25
    first = (await api.call("GET", "/analytics/rfm?segment=loyal&limit=2")).json()["page"]
    assert [item["member_id"] for item in first["items"]] == [ids["m3"], ids["m4"]]
    after = first["next_after"]
    rest = (await api.call("GET", f"/analytics/rfm?segment=loyal&limit=2&after={after}")).json()
    assert [item["member_id"] for item in rest["page"]["items"]] == [ids["m5"]]
    assert rest["page"]["next_after"] is None

    async def get(params: dict[str, Any]) -> httpx.Response:
        return await api.call("GET", "/analytics/rfm", params={"segment": "loyal"} | params)

    loyal = [ids["m3"], ids["m4"], ids["m5"]]
    assert await assert_each_once(get, key="member_id", page_of=lambda body: body["page"]) == loyal
    high = (await api.call("GET", "/analytics/rfm?group=high_value")).json()["page"]
    assert [item["member_id"] for item in high["items"]] == [ids["m2"], ids["m9"]]


async def test_unknown_segment_and_bad_query_are_422(api: Api) -> None:
    unknown = await api.call("GET", "/analytics/rfm?segment=vip")
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_segment"
    assert unknown.json()["error"]["field"] == "segment"
    bad_group = await api.call("GET", "/analytics/rfm?group=whales")
    assert bad_group.status_code == 422
    assert bad_group.json()["error"]["field"] == "group"
    bad_limit = await api.call("GET", "/analytics/rfm?segment=loyal&limit=0")
    assert bad_limit.status_code == 422
