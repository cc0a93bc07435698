"""Keys and pages outside the role matrix (``tests/api/test_role_matrix.py``): an unknown key,
the offline docs."""

from __future__ import annotations

from tests.api.conftest import Api


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
