"""The SSRF guard: every address a URL's host resolves to must be public (unless private ones
are allowed); cloud metadata is refused always; the API answers 422 with a stable code and
field ``url`` and adds nothing."""

from __future__ import annotations

import ipaddress

import pytest

from patron.webhooks import addresses
from patron.webhooks.addresses import ALLOW_PRIVATE_ENV, check, refusal
from patron.webhooks.errors import (
    WebhookUrlInvalidError,
    WebhookUrlRefusedError,
    WebhookUrlUnresolvableError,
)
from patron.webhooks.signing import headers, new_secret, secret_key
from tests.api.conftest import Api

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.10.10",
    "fe80::1",
    "fc00::1",
    "100.64.0.1",
    "0.0.0.0",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "64:ff9b::7f00:1",  # NAT64 (RFC 6052's well-known prefix) around 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # ... around the metadata address 169.254.169.254
    "64:ff9b::c0a8:101",  # ... around 192.168.1.1
    "224.0.0.1",
    "169.254.169.254",
]


@pytest.mark.parametrize("text", REFUSED)
def test_non_public_addresses_are_refused(text: str) -> None:
    assert refusal(ipaddress.ip_address(text), private_allowed=False) is not None


@pytest.mark.parametrize("text", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"])
def test_public_addresses_pass(text: str) -> None:
    assert refusal(ipaddress.ip_address(text), private_allowed=False) is None


def test_allowing_private_still_refuses_cloud_metadata() -> None:
    assert refusal(ipaddress.ip_address("10.0.0.1"), private_allowed=True) is None
    assert refusal(ipaddress.ip_address("127.0.0.1"), private_allowed=True) is None
    for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"):
        assert refusal(ipaddress.ip_address(text), private_allowed=True) is not None


async def test_a_name_is_resolved_and_every_address_checked() -> None:
    with pytest.raises(WebhookUrlRefusedError) as refused:
        await check("http://localhost:9/hook", private_allowed=False)
    assert refused.value.field == "url"
    target = await check("http://localhost:9/hook", private_allowed=True)
    assert all(address.is_loopback for address in target.addresses)
    with pytest.raises(WebhookUrlRefusedError):
        await check("http://metadata.google.internal/", private_allowed=True)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "http:///path", "https://user:pw@example.com/", "http://a b.com/"],
)
async def test_invalid_urls(url: str) -> None:
    with pytest.raises(WebhookUrlInvalidError):
        await check(url, private_allowed=True)


async def test_an_unresolvable_name() -> None:
    with pytest.raises(WebhookUrlUnresolvableError):
        await check("http://no-such-host.invalid/hook", private_allowed=False)


def test_the_setting_is_read_at_each_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    assert not addresses.allow_private()
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    assert addresses.allow_private()
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "0")
    assert not addresses.allow_private()


def test_secret_and_signature_are_standard_webhooks() -> None:
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(secret_key(secret)) == 32
    body = '{"type":"tiers.changed","data":{"name":"Ёжик"}}'.encode()
    sent = headers(secret, "evt_1", datetime.now(UTC), body)
    assert Webhook(secret).verify(body, sent)["data"] == {"name": "Ёжик"}
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(body, sent)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8080/hook", "webhook_url_refused"),
        ("http://10.0.0.5/hook", "webhook_url_refused"),
        ("http://[::1]/hook", "webhook_url_refused"),
        ("http://169.254.169.254/latest", "webhook_url_refused"),
        ("http://localhost/hook", "webhook_url_refused"),
        ("http://no-such-host.invalid/hook", "webhook_url_unresolvable"),
        ("https://user:secret@8.8.8.8/hook", "webhook_url_invalid"),
    ],
)
async def test_the_api_refuses_with_code_and_field(
    api: Api, url: str, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    response = await api.call("POST", "/webhooks", json={"url": url, "events": ["*"]})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == "url"
    assert (await api.call("GET", "/webhooks")).json() == []
