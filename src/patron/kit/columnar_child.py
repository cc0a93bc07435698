"""The reader process of :mod:`patron.kit.columnar`: ConnectorX reads of a SQLite file, run in a
process of their own.

ConnectorX carries its own copy of SQLite. A second copy of SQLite in a process that already
holds the file open through Python's ``sqlite3`` destroys the database's write-ahead log: when
the second copy closes its connection, the operating system drops every POSIX lock the
process holds on the file (the first copy's too), and the second copy, seeing no other user,
checkpoints and deletes the WAL while the first copy still writes into it. Writes acknowledged
after that vanish for every other process and at the next crash. This process never opens the
file through any other library, so its SQLite is the only one here, as in any other process
that reads the database (``sqlite3``, a backup).

Protocol (one request at a time): the parent writes one JSON line
``{"source": ..., "reads": [{"query": str | [str], "partition_on": str | null,
"partition_num": int}]}``; this process runs the reads together (ConnectorX works outside the
GIL) and answers one frame per read, in order: a status byte (``T`` a table, ``E`` an error),
the payload's length (8 bytes, little-endian), then the payload (an Arrow IPC stream, or the
error's text in UTF-8). It exits when its standard input closes (the parent ended, however).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

TABLE, ERROR = b"T", b"E"
LENGTH_BYTES = 8


def _read(source: str, read: dict[str, Any]) -> bytes:
    import connectorx as cx
    import pyarrow as pa  # type: ignore[import-untyped]

    options: dict[str, Any] = {"return_type": "arrow"}
    if read.get("partition_on"):
        options |= {"partition_on": read["partition_on"], "partition_num": read["partition_num"]}
    table = cx.read_sql(source, read["query"], **options)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _frame(status: bytes, payload: bytes) -> bytes:
    return status + len(payload).to_bytes(LENGTH_BYTES, "little") + payload


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer requests until ``requests`` ends."""
    for line in requests:
        request = json.loads(line)
        reads: list[dict[str, Any]] = request["reads"]
        with ThreadPoolExecutor(max_workers=max(1, len(reads))) as pool:
            futures = [pool.submit(_read, request["source"], read) for read in reads]
            for future in futures:
                try:
                    answers.write(_frame(TABLE, future.result()))
                except Exception as error:  # the parent raises it with this text
                    answers.write(_frame(ERROR, f"{type(error).__name__}: {error}".encode()))
        answers.flush()


def main() -> None:
    # Answers go to a private copy of standard output; anything else that prints (a library's
    # warning) goes to standard error and cannot corrupt the frames.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with contextlib.suppress(BrokenPipeError):  # the parent went away mid-answer
        serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
