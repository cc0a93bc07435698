"""The authorization matrix of every endpoint: who may call what."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

# (method, path, body, roles allowed besides admin)
ENDPOINTS: list[tuple[str, str, dict[str, object] | None, set[str]]] = [
    ("POST", "/members", {"external_id": "m"}, {"pos"}),
    ("GET", "/members", None, {"pos", "staff"}),
    ("GET", "/members/1", None, {"pos", "staff"}),
    ("GET", "/members/by-external-id/m", None, {"pos", "staff"}),
    ("GET", "/members/1/ledger", None, {"pos", "staff"}),
    ("PATCH", "/members/1", {"name": "A"}, {"pos"}),
    ("POST", "/members/1/block", {"reason": "fraud"}, set()),
    ("POST", "/members/batch", {"members": []}, set()),
    ("POST", "/purchases", {"external_id": "x"}, {"pos"}),
    ("POST", "/purchases/batch", {"purchases": []}, {"pos"}),
    ("GET", "/purchases/1", None, {"pos", "staff"}),
    ("POST", "/purchases/1/returns", {"external_id": "r"}, {"pos"}),
    ("GET", "/rewards", None, {"pos", "staff"}),
    ("POST", "/redemptions", {"member_id": 1, "reward_code": "DISC10"}, {"pos"}),
    ("POST", "/coupons/ABC/consume", {}, {"pos"}),
    ("POST", "/checkout/quote", {"currency": "RUB", "lines": []}, {"pos"}),
    ("GET", "/program", None, {"pos", "staff"}),
    ("PUT", "/program", None, set()),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
async def test_roles(
    api: Api, method: str, path: str, body: dict[str, object] | None, allowed: set[str]
) -> None:
    anonymous = await api.call(method, path, role=None, json=body)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "missing_api_key"
    for role in ("staff", "pos", "partner", "admin"):
        response = await api.call(method, path, role=role, json=body)
        if role == "admin" or role in allowed:
            assert response.status_code not in (401, 403) or response.json()["error"][
                "code"
            ] not in ("forbidden", "missing_api_key", "invalid_api_key"), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["error"]["code"] == "forbidden"


async def test_wrong_key_is_401(api: Api) -> None:
    response = await api.client.get("/api/v1/members/1", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


async def test_docs_work_offline(api: Api) -> None:
    page = await api.client.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    script = await api.client.get("/static/swagger/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000
    spec = (await api.client.get("/openapi.json")).json()
    assert "/api/v1/purchases" in spec["paths"]
