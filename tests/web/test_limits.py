"""The login rate limit, on a clock the test moves."""

from __future__ import annotations

from patron.web.limits import LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_the_email_until_the_first_leaves_the_window() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_email=5, per_address=20, window_seconds=900, clock=clock)
    keys = LoginLimiter.keys("10.0.0.1", "Ann@Shop.example")
    for _ in range(4):
        limiter.failed(keys)
        clock.now += 10
    assert limiter.wait_seconds(keys) == 0
    limiter.failed(keys)
    assert limiter.wait_seconds(keys) == 900 - 40
    other_address = LoginLimiter.keys("10.0.0.2", "ann@shop.example")
    assert limiter.wait_seconds(other_address) > 0  # the email is locked from anywhere
    assert limiter.wait_seconds(LoginLimiter.keys("10.0.0.1", "bob@shop.example")) == 0
    clock.now += 900 - 40
    assert limiter.wait_seconds(keys) == 0


def test_an_address_trying_many_emails_is_locked_too() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_email=5, per_address=20, window_seconds=900, clock=clock)
    for n in range(20):
        limiter.failed(LoginLimiter.keys("10.0.0.9", f"user{n}@shop.example"))
    assert limiter.wait_seconds(LoginLimiter.keys("10.0.0.9", "new@shop.example")) > 0
    assert limiter.wait_seconds(LoginLimiter.keys("10.0.0.8", "new@shop.example")) == 0


def test_success_clears_the_email_and_the_keys_are_bounded() -> None:
    limiter = LoginLimiter(per_email=2, clock=Clock())
    keys = LoginLimiter.keys("10.0.0.1", "ann@shop.example")
    limiter.failed(keys)
    limiter.failed(keys)
    assert limiter.wait_seconds(keys[1:]) > 0
    limiter.succeeded("ANN@shop.example")
    assert limiter.wait_seconds(keys[1:]) == 0
    for n in range(10_100):
        limiter.failed([("email", f"{n}@x.example")])
    assert len(limiter._failures) <= 10_000
