"""The login rate limit: failed logins counted per client address and per email.

Each key keeps the times of its failures within :attr:`LoginLimiter.window`; a key with
``attempts`` failures in the window is refused until the oldest leaves it. The counts live in
the server process (with several workers, each counts its own); a successful login clears the
email's count. At most :data:`MOST_KEYS` keys are kept (the oldest are dropped), so a flood of
invented emails cannot grow memory without bound.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

MOST_KEYS = 10_000


class LoginLimiter:
    def __init__(
        self,
        *,
        per_email: int = 5,
        per_address: int = 20,
        window_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"email": per_email, "address": per_address}
        self.window = window_seconds
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    @staticmethod
    def keys(address: str, email: str) -> list[tuple[str, str]]:
        return [("address", address), ("email", email.strip().lower())]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def wait_seconds(self, keys: Iterable[tuple[str, str]]) -> float:
        """How long until these keys may try again (0: now)."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.limits[key[0]]:
                wait = max(wait, times[0] + self.window - now)
        return wait

    def failed(self, keys: Iterable[tuple[str, str]]) -> None:
        now = self.clock()
        for key in keys:
            times = self._failures.setdefault(key, deque())
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > MOST_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, email: str) -> None:
        self._failures.pop(("email", email.strip().lower()), None)
