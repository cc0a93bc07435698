"""The labelled examples shipped in `patron/feedback/data/` (hand-written, see the docs).

`train.jsonl` fits the models; `validation.jsonl` (every fifth example of each language and
label, 20 %) is never used for fitting and only measures the models.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources

from patron.feedback.analysis.result import Label, Language, Topic


class Split(StrEnum):
    """A part of the shipped data."""

    TRAIN = "train"
    VALIDATION = "validation"


@dataclass(frozen=True)
class Example:
    """One labelled feedback text."""

    text: str
    language: Language
    label: Label
    topic: Topic


def _data_bytes(split: Split) -> bytes:
    return resources.files("patron.feedback").joinpath(f"data/{split.value}.jsonl").read_bytes()


@lru_cache(maxsize=2)
def load_examples(split: Split) -> tuple[Example, ...]:
    """The examples of one split, in file order."""
    examples = []
    for line in _data_bytes(split).decode("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        examples.append(
            Example(
                text=str(row["text"]),
                language=Language(row["language"]),
                label=Label(row["label"]),
                topic=Topic(row["topic"]),
            )
        )
    return tuple(examples)


def data_digest(split: Split) -> str:
    """SHA-256 of one split's file, used to key the on-disk model cache."""
    return hashlib.sha256(_data_bytes(split)).hexdigest()
