"""A real HTTP server on 127.0.0.1, in a thread, that verifies each request with the official
``standardwebhooks`` package and answers the statuses it is told to."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: Any  # the parsed payload, or the verification error's text
    ok: bool


@dataclass
class Receiver:
    url: str
    secret: str = ""
    statuses: list[int] = field(default_factory=list)  # answered in turn; then 200
    # when set, the status for a body (``None``: the next of ``statuses``): concurrent
    # deliveries arrive in any order, so a test that needs a given one to fail says which
    status_for: Callable[[Any], int | None] | None = None
    location: str | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                verified: Any = Webhook(state.secret).verify(body, headers)
                ok = True
            except Exception as error:  # the test reads why
                verified, ok = f"{type(error).__name__}: {error}", False
            with state.lock:
                state.received.append(Received(headers, body, verified, ok))
            chosen = state.status_for(json.loads(body)) if state.status_for and ok else None
            status = chosen or (state.next_status() if ok else 401)
            self.send_response(status)
            if state.location is not None:
                self.send_header("location", state.location)
            answer = json.dumps({"ok": ok}).encode()
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/patron"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
