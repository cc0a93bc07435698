"""``/events/dead``, ``/events/dead/retry`` and ``/events/stats`` on a real dead letter."""

from __future__ import annotations

from patron.kit.dispatch import dispatch_pending
from patron.kit.outbox import MAX_ATTEMPTS
from tests.api.conftest import Api
from tests.cli.test_events_cli import _dead_letter


async def test_dead_letters_listed_retried_and_counted(api: Api) -> None:
    await _dead_letter(api.database)
    dead = (await api.call("GET", "/events/dead")).json()
    assert [(d["handler"], d["attempts"], d["last_error"], d["type"]) for d in dead] == [
        ("flaky", MAX_ATTEMPTS, "ValueError: endpoint down", "test.pinged")
    ]
    assert dead[0]["event"] == f"evt_{dead[0]['event_id']}"
    stats = (await api.call("GET", "/events/stats")).json()
    assert (stats["dead"], stats["failures_by_handler"]) == (1, {"flaky": 1})
    bad = await api.call("POST", "/events/dead/retry", json={"run_id": 0})
    assert bad.status_code == 422
    none = await api.call("POST", "/events/dead/retry", json={"handler": "nobody"})
    assert none.json() == {"retried": 0}
    assert len((await api.call("GET", "/events/dead")).json()) == 1
    retried = await api.call("POST", "/events/dead/retry", json={"run_id": dead[0]["run_id"]})
    assert retried.json() == {"retried": 1}
    assert (await api.call("GET", "/events/dead")).json() == []
    stats = (await api.call("GET", "/events/stats")).json()
    assert (stats["dead"], stats["retrying"], stats["pending"]) == (0, 1, 1)
    report = await dispatch_pending(api.database, [])
    assert report.events == 1
    assert (await api.call("GET", "/events/stats")).json()["pending"] == 0
