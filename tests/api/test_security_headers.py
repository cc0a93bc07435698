"""Security headers (issue 16, part 4): every answer says nosniff; HTML pages forbid framing,
foreign scripts and the referrer (their paths hold tokens)."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_html_pages_and_json_answers_carry_their_headers(api: Api) -> None:
    page = await api.client.get("/s/not-a-token")
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self';" in policy
    docs = await api.client.get("/docs")
    assert docs.status_code == 200
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]
    answer = await api.call("GET", "/program")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in answer.headers
    refused = await api.client.get("/api/v1/program")
    assert (refused.status_code, refused.headers["x-content-type-options"]) == (401, "nosniff")
    health = (await api.client.get("/healthz")).json()
    assert health == {"status": "ok", "worker": 1}
