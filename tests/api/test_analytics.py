"""``GET /analytics/kpis``: the role matrix, the hand-computed figures, refused input."""

from __future__ import annotations

import pytest

from tests.analytics.kpis.dbstore import build_store
from tests.api.conftest import Api

Q1 = "/analytics/kpis?from=2026-01-01&to=2026-03-31"


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("pos", 403), ("partner", 403)])
async def test_only_admin_and_staff(api: Api, role: str | None, status: int) -> None:
    response = await api.call("GET", Q1, role=role)
    assert response.status_code == status
    code = {401: "missing_api_key", 403: "forbidden"}[status]
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("role", ["admin", "staff"])
async def test_figures_for_admin_and_staff(api: Api, role: str) -> None:
    await build_store(api.database)
    response = await api.call("GET", f"{Q1}&margin_rate=0.5&by=tier", role=role)
    assert response.status_code == 200, response.text
    report = response.json()
    points = report["program"]["points"]
    assert (points["issued"], points["redeemed"], points["expired"]) == (600, 100, 40)
    assert (points["outstanding"], points["liability"], points["reward_cost"]) == (500, 17857, 5000)
    assert report["program"]["return_on_investment"]["roi"] == 11.0
    assert report["breakdown"]["tier"][0]["group"] == "(none)"


async def test_baseline(api: Api) -> None:
    await build_store(api.database)
    response = await api.call("GET", f"{Q1}&baseline_from=2025-01-01&baseline_to=2025-03-31")
    assert response.status_code == 200, response.text
    before = response.json()["baseline"]["before"]
    assert (before["all"]["orders"], before["all"]["net_sales"], before["days"]) == (1, 40000, 90)


@pytest.mark.parametrize(
    ("query", "field", "params"),
    [
        ("from=2026-03-01&to=2026-01-01", "from", {}),
        ("baseline_from=2026-01-01", "baseline_from", {}),
        ("from=1900-01-01", "from", {"earliest": "1970-01-01", "latest": "2200-12-31"}),
    ],
)
async def test_bad_windows_are_422(
    api: Api, query: str, field: str, params: dict[str, str]
) -> None:
    response = await api.call("GET", f"/analytics/kpis?{query}")
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_window",
        "message": response.json()["error"]["message"],
        "field": field,
        "params": params,
    }


async def test_segments_not_computed_is_404(api: Api) -> None:
    response = await api.call("GET", "/analytics/kpis?by=segment")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "grouping_unavailable"


async def test_rates_out_of_range_are_refused(api: Api) -> None:
    response = await api.call("GET", "/analytics/kpis?margin_rate=1.5")
    assert response.status_code == 422
