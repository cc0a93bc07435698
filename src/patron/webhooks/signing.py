"""Standard Webhooks signatures (https://www.standardwebhooks.com), written out here.

The secret is ``whsec_`` + the base64 of 32 random bytes. A delivery carries

- ``webhook-id``: the message id (the event's ``evt_<id>``, the same on every retry);
- ``webhook-timestamp``: the moment of sending, whole seconds since the epoch;
- ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))
  where ``key`` is the secret's decoded bytes and ``body`` the exact bytes sent.

Patron signs with the standard library (a dozen lines) rather than the ``standardwebhooks``
package at run time; the tests verify every delivery with that package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of one delivery (one ``v1`` signature)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, message_id: str, moment: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent at ``moment``."""
    timestamp = int(moment.timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
