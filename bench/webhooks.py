"""Webhook benchmark: deliveries sent per second by the poller to a local receiver.

    python bench/webhooks.py [--deliveries 500] [--db PATH_OR_URL]

Queues ``--deliveries`` deliveries (the handler's insert, one unit of work each) for one
endpoint on a fresh SQLite file (or ``--db``), then runs :func:`patron.webhooks.delivery.run_once`
until nothing is due, against a uvicorn receiver answering 204 in a thread of this process
(which shares the CPU with the poller). Prints both rates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from patron.kit.db import Database
from patron.kit.outbox import EventEnvelope
from patron.kit.time import utcnow
from patron.migrations import upgrade_schema
from patron.webhooks import delivery, service
from patron.webhooks.addresses import ALLOW_PRIVATE_ENV
from patron.webhooks.handlers import queue_deliveries

received = 0


async def receiver(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global received
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    received += 1
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def run(url: str, deliveries: int, port: int) -> None:
    await upgrade_schema(url)
    database = Database(url)
    try:
        async with database.write() as session:
            await service.create_endpoint(
                session, url=f"http://127.0.0.1:{port}/h", events=["*"], description=None,
                now=utcnow(),
            )  # fmt: skip
        started = time.perf_counter()
        for n in range(deliveries):
            envelope = EventEnvelope(n + 1, "tiers.changed", 1, None, 1, utcnow(), {"member_id": 1})
            async with database.write() as session:
                await queue_deliveries(session, envelope)
        queued = time.perf_counter() - started
        started = time.perf_counter()
        sent = 0
        while attempted := await delivery.run_once(database, utcnow()):
            sent += attempted
        took = time.perf_counter() - started
    finally:
        await database.dispose()
    print(f"queued {deliveries} deliveries in {queued:.2f} s ({deliveries / queued:.0f}/s)")
    print(f"sent {sent} in {took:.2f} s ({sent / took:.0f}/s); the receiver got {received}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--db", default=None)
    parser.add_argument("--port", type=int, default=54399)
    arguments = parser.parse_args()
    os.environ[ALLOW_PRIVATE_ENV] = "1"
    config = uvicorn.Config(receiver, host="127.0.0.1", port=arguments.port, log_level="error")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.db or str(Path(folder) / "webhooks-bench.db")
        asyncio.run(run(url, arguments.deliveries, arguments.port))
    server.should_exit = True


if __name__ == "__main__":
    main()
