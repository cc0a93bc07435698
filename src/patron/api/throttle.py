"""Guessing is slow, and it is seen (issue 16, part 3).

Two counters per server process, each over a sliding minute:

- **bad keys** per client address: after ``PATRON_AUTH_FAILURES_PER_MINUTE`` (default 30)
  answers 401 in the last minute, the address gets 429 ``too_many_requests`` with
  ``Retry-After`` on every ``/api`` request until the oldest failure is a minute old;
- **lookups that find nothing** per API key (or per address on the key-less pages): after
  ``PATRON_LOOKUP_MISSES_PER_MINUTE`` (default 30) answers 404 on the coupon routes
  (``/api/v1/coupons/{code}...``) and on the survey and unsubscribe pages (``/s/``, ``/u/``),
  the same 429 there.

The client address is the connection's peer, or, when that peer is one of
``PATRON_TRUSTED_PROXIES`` (comma-separated addresses or networks, e.g. ``127.0.0.1,10.0.0.0/8``),
the last address of ``X-Forwarded-For`` that is not itself a trusted proxy. Each process
counts alone (``--workers 4`` lets four times the limit through at most).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.types import Scope

from patron.kit.errors import PatronError

AUTH_ENV = "PATRON_AUTH_FAILURES_PER_MINUTE"
LOOKUP_ENV = "PATRON_LOOKUP_MISSES_PER_MINUTE"
PROXIES_ENV = "PATRON_TRUSTED_PROXIES"
DEFAULT_LIMIT = 30
WINDOW = 60.0
MAX_TRACKED = 100_000  # clients remembered at once; the quietest are forgotten first
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TooManyRequestsError(PatronError):
    code = "too_many_requests"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Counter:
    """Failures per client within :data:`WINDOW` seconds."""

    limit: int
    seen: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def _recent(self, who: str, now: float) -> deque[float] | None:
        times = self.seen.get(who)
        if times is None:
            return None
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if not times:
            del self.seen[who]
            return None
        return times

    def check(self, who: str, now: float | None = None) -> None:
        """:class:`TooManyRequestsError` when ``who`` failed ``limit`` times in the window."""
        moment = time.monotonic() if now is None else now
        times = self._recent(who, moment)
        if times is not None and len(times) >= self.limit:
            raise TooManyRequestsError(max(1, int(times[0] + WINDOW - moment) + 1))

    def fail(self, who: str, now: float | None = None) -> None:
        moment = time.monotonic() if now is None else now
        times = self._recent(who, moment)
        if times is None:
            times = self.seen[who] = deque()
        times.append(moment)
        self.seen.move_to_end(who)
        while len(self.seen) > MAX_TRACKED:
            self.seen.popitem(last=False)


@dataclass(frozen=True)
class Throttles:
    auth: Counter
    lookups: Counter
    proxies: tuple[Network, ...]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Throttles:
        """The limits the environment sets (a bad value is a ValueError: the server does not
        start)."""
        return cls(
            auth=Counter(_limit(environ, AUTH_ENV)),
            lookups=Counter(_limit(environ, LOOKUP_ENV)),
            proxies=_networks(environ.get(PROXIES_ENV, "")),
        )

    def client(self, scope: Scope) -> str:
        """The client's address (see the module docstring)."""
        peer = scope.get("client")
        address = str(peer[0]) if peer else "unknown"
        if not self.proxies or not self._trusted(address):
            return address
        forwarded = Headers(scope=scope).get("x-forwarded-for", "")
        for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
            if not self._trusted(hop):
                return hop
        return address

    def _trusted(self, address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.proxies)


def is_lookup(path: str, api_prefix: str) -> bool:
    """A path whose 404s count as guesses: coupon codes and page tokens."""
    return (
        path.startswith(f"{api_prefix}/coupons/")
        or path.startswith("/s/")
        or path.startswith("/u/")
    )


def _limit(environ: Mapping[str, str], name: str) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise ValueError(f"{name} must be a whole number from 1 to 1000000, not {value!r}")
    return int(value)


def _networks(text: str) -> tuple[Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in text.split(",")
            if part.strip()
        )
    except ValueError as error:
        raise ValueError(f"{PROXIES_ENV}: {error}") from None
