"""docs/getting-started.md runs as written: its files are saved, its ``sh`` blocks run in one
bash script (``set -e``) in a fresh directory, and its ``sh server`` block runs in the
background (on a free port instead of 8000) until the script ends."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PAGE = (REPO / "docs" / "getting-started.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```(\w+)(?: ([\w.-]+))?\n(.*?)```", re.DOTALL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_getting_started_page_runs_as_written(tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    port = str(_free_port())
    before: list[str] = []
    after: list[str] = []
    server_command = None
    for kind, name, body in BLOCK.findall(PAGE):
        if kind == "csv":
            (tmp_path / name).write_text(body, encoding="utf-8")
        elif kind == "sh" and name == "server":
            server_command = body.strip().replace("8000", port)
        elif kind == "sh":
            (after if server_command else before).append(body.replace("8000", port))
    assert server_command is not None
    assert len(before) >= 4
    assert after
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    environment.pop("PATRON_DATABASE_URL", None)
    # The key made before the server starts is kept in the script's shell for the later blocks.
    script = "set -euo pipefail\n" + "\n".join(before)
    script += f"\n{server_command} > server.log 2>&1 &\nSERVER=$!\n"
    script += "trap 'kill $SERVER' EXIT\n"
    health = f"http://127.0.0.1:{port}/healthz"
    script += f"for i in $(seq 300); do curl -sf {health} >/dev/null && break; sleep 0.2; done\n"
    script += "\n".join(after)
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"points_earned":200' in result.stdout.replace(" ", "")
