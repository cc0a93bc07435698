"""Unguessable codes from :mod:`secrets`; uniqueness is a database constraint."""

from __future__ import annotations

import hashlib
import secrets

# No 0/O, 1/I/L: codes are read aloud at tills and typed on phones.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def random_code(length: int = 10, *, prefix: str = "") -> str:
    """A random code such as ``R-7KQ2M9XH``; 10 symbols of 31 give about 49 bits."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return f"{prefix}{body}"


def random_codes(count: int, length: int = 10) -> list[str]:
    """``count`` codes as :func:`random_code` draws them, from one read of the system's
    randomness per round (an import draws a million): bytes of 248 or more are dropped, so
    each symbol stays uniform over the 31."""
    symbols: list[str] = []
    wanted = count * length
    limit = len(_ALPHABET) * (256 // len(_ALPHABET))
    while len(symbols) < wanted:
        raw = secrets.token_bytes((wanted - len(symbols)) * 9 // 8 + 16)
        symbols.extend(_ALPHABET[byte % len(_ALPHABET)] for byte in raw if byte < limit)
    return ["".join(symbols[n * length : (n + 1) * length]) for n in range(count)]


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
