"""``patron serve --workers N``: N server processes, each listening on the same port through
its own socket (``SO_REUSEPORT``), so that the kernel spreads the connections over them.

Uvicorn's own multi-worker mode shares one listening socket between its workers, and the
worker that wakes first accepts every connection that is waiting. Clients that open their
keep-alive connections in a burst (tills at opening time, a proxy's pool, a load test) can
thus all land on one worker and stay there while the others idle: the accrual benchmark's 16
connections ran one worker at 16 s of CPU and the other at 0.6 s in one run out of two,
halving the throughput. With a socket per worker the kernel assigns each new connection to
one of them by its addresses' hash.

The supervisor (the process ``patron serve`` started) opens the N listening sockets itself
before it starts any worker, and hands one to each: the kernel spreads connections over all N
from the first one, and a connection that arrives before its worker is ready (or while a dead
worker is being replaced) waits in that socket's queue instead of going to the ready workers.
A port taken by another program is reported at once. It restarts a worker that dies after it
started, gives up when a worker dies within :data:`STARTUP_SECONDS` (it would only die again),
and stops every worker on SIGINT or SIGTERM. Where ``SO_REUSEPORT`` does not exist, uvicorn's
own mode is used.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

from patron.kit.metrics import MULTIPROCESS_ENV

STARTUP_SECONDS = 5.0
BACKLOG = 2048
STOP_SECONDS = 30.0


class WorkerStartError(RuntimeError):
    """A worker died while starting (a bad database URL, a broken installation)."""


def reuse_port_available() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` that shares the port with its siblings."""
    family, kind, protocol, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _name_process(name: str) -> None:
    """The process's name as ``ps`` and ``/proc/<pid>/comm`` show it (Linux; elsewhere the
    name stays ``python``)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def _worker(url: str, sock: socket.socket, dispatch: bool, number: int = 1) -> None:
    from patron.api.app import WORKER_NUMBER_ENV, create_app
    from patron.kit.logs import configure_logging

    os.environ[WORKER_NUMBER_ENV] = str(number)
    _name_process(f"patron-w{number}")
    configure_logging(os.environ)

    config = uvicorn.Config(
        create_app(url, dispatch=dispatch),
        log_level="warning",
        log_config=None,
        access_log=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


class _Supervisor:
    def __init__(self, url: str, sockets: list[socket.socket], dispatch: bool) -> None:
        self.url = url
        self.dispatch = dispatch
        self.sockets = sockets
        self.context = multiprocessing.get_context("spawn")
        self.stopping = threading.Event()

    def start(self, index: int) -> tuple[BaseProcess, float]:
        process = self.context.Process(
            target=_worker,
            # on SQLite the first process dispatches; on PostgreSQL each one may
            args=(
                self.url,
                self.sockets[index],
                self.dispatch and (index == 0 or "sqlite" not in self.url),
                index + 1,
            ),
            daemon=False,
        )
        process.start()
        return process, time.monotonic()

    def stop(self, _signal: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> None:
        running = [self.start(index) for index in range(len(self.sockets))]
        try:
            while not self.stopping.wait(0.5):
                for index, (process, started) in enumerate(running):
                    if process.is_alive():
                        continue
                    if time.monotonic() - started < STARTUP_SECONDS:
                        raise WorkerStartError(
                            f"a worker exited while starting (exit code {process.exitcode})"
                        )
                    running[index] = self.start(index)
        finally:
            for process, _started in running:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn finishes its requests and stops
            deadline = time.monotonic() + STOP_SECONDS
            for process, _started in running:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join()


def run_workers(url: str, host: str, port: int, workers: int, *, dispatch: bool = True) -> None:
    """Serve with ``workers`` processes until SIGINT or SIGTERM (see the module docstring).

    Raises OSError when the port cannot be bound, :class:`WorkerStartError` when a worker
    dies while starting. The workers keep their metrics in files of one private directory
    (:mod:`patron.kit.metrics`), made here and removed at the end."""
    sockets: list[socket.socket] = []
    metrics = tempfile.mkdtemp(prefix="patron-metrics-")
    os.environ[MULTIPROCESS_ENV] = metrics  # the spawned workers inherit it
    try:
        for _ in range(workers):
            sockets.append(listening_socket(host, port))
        supervisor = _Supervisor(url, sockets, dispatch)
        previous = {
            name: signal.signal(name, supervisor.stop) for name in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            supervisor.run()
        finally:
            for name, handler in previous.items():
                signal.signal(name, handler)
    finally:
        for sock in sockets:
            sock.close()
        os.environ.pop(MULTIPROCESS_ENV, None)
        shutil.rmtree(metrics, ignore_errors=True)
