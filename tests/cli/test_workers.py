"""``patron serve --workers N`` runs N processes, each with its own listening socket on the port,
so the kernel spreads connections over them (uvicorn's shared socket let the first worker to
wake take a whole burst of keep-alive connections); the supervisor stops them on SIGTERM and
reports a port it cannot take."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from patron.cli.workers import reuse_port_available

pytestmark = pytest.mark.skipif(not reuse_port_available(), reason="needs SO_REUSEPORT")
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(path: Path, port: int, workers: int, stderr: int) -> subprocess.Popen[bytes]:
    command = ["serve", "--db", str(path), "--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(
        [sys.executable, "-m", "patron", *command],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
        env={**os.environ, "PATRON_FEEDBACK_WARM_UP": "0"},
    )


def _worker_of(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    answer = connection.getresponse()
    assert answer.status == 200
    return int(json.loads(answer.read())["worker"])


def _descendants(parent: int) -> set[int]:
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.add(int(stat.parent.name))
    return found


def _pid_of_worker(server: int, number: int) -> int:
    """The process of worker ``number``: ``/healthz`` names workers by number, never by
    process id, and each worker names its process ``patron-w<number>``."""
    for pid in _descendants(server):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == f"patron-w{number}":
                return pid
        except OSError:
            continue
    raise AssertionError(f"no process named patron-w{number}")


def _wait_for_workers(port: int, workers: int) -> list[int]:
    seen: set[int] = set()
    deadline = time.monotonic() + 90
    while len(seen) < workers and time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            seen.add(_worker_of(connection))
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    assert len(seen) == workers, f"only {len(seen)} of {workers} workers answered"
    return sorted(seen)


def test_connections_opened_while_a_worker_is_busy_still_reach_it(tmp_path: Path) -> None:
    """Sixteen keep-alive connections opened together (a till pool reconnecting, a load
    test) while one worker cannot accept (here: paused; in life: starting, or busy). With one
    shared socket the other worker would accept all sixteen and keep them; with a socket per
    worker about half wait in the paused worker's queue and it serves them when it runs again
    (all sixteen on one worker: probability 2 ** -15)."""
    port = _free_port()
    server = _serve(tmp_path / "patron.db", port, 2, subprocess.DEVNULL)
    try:
        first, second = _wait_for_workers(port, 2)
        assert (first, second) == (1, 2)
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(16)]
        paused = _pid_of_worker(server.pid, second)
        os.kill(paused, signal.SIGSTOP)
        try:
            for connection in connections:
                connection.connect()
            time.sleep(0.5)  # time for the running worker to accept all it can
        finally:
            os.kill(paused, signal.SIGCONT)
        answered = [_worker_of(connection) for connection in connections]
        assert set(answered) == {first, second}
        # a connection stays with its worker
        assert [_worker_of(connection) for connection in connections] == answered
        for connection in connections:
            connection.close()
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0
    assert not _descendants(server.pid)


def test_a_port_taken_by_another_program_is_reported(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        server = _serve(tmp_path / "patron.db", port, 2, subprocess.PIPE)
        _out, error = server.communicate(timeout=60)
    assert server.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in error.decode()


def test_a_bad_write_groups_setting_stops_serve_before_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from patron.cli.main import app

    monkeypatch.setenv("PATRON_WRITE_GROUPS", "0")
    path = tmp_path / "never.db"
    result = CliRunner().invoke(app, ["serve", "--db", str(path), "--port", "1"])
    assert result.exit_code == 2
    assert "PATRON_WRITE_GROUPS must be a whole number from 1 to 64, not '0'" in result.output
    assert not path.exists()


@pytest.mark.parametrize(
    ("name", "value"), [("PATRON_LOG_FORMAT", "xml"), ("PATRON_LOG_LEVEL", "loud")]
)
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_bad_log_setting_stops_the_command_at_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, command: str
) -> None:
    from typer.testing import CliRunner

    from patron.cli.main import app

    monkeypatch.setenv(name, value)
    path = tmp_path / "never.db"
    arguments = [command, "--db", str(path)] + (["--port", "1"] if command == "serve" else [])
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert f"{name} must be" in result.output
    assert not path.exists()
