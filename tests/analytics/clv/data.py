"""Where the shared CDNOW data live: ``../shared/data`` next to the repository."""

from __future__ import annotations

from pathlib import Path

DATA = (Path(__file__).parents[3] / "../shared/data").resolve()
