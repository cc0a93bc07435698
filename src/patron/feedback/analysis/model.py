"""The fitted classifiers, one set per analysis mode: label and topic.

Both are multinomial logistic regressions (class-balanced, L2, SAGA solver with a fixed seed:
lbfgs reaches the same fit several times slower here) over the features of `features.py`.
A model is fitted at first use on `train.jsonl`, kept in memory for the process, and
optionally pickled to `PATRON_FEEDBACK_CACHE_DIR` under a key made of the mode, the training
data digest, `MODEL_VERSION` and the scikit-learn version.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from patron.feedback.analysis.dataset import Split, data_digest, load_examples
from patron.feedback.analysis.features import (
    AnalysisMode,
    FeatureSpace,
    FloatArray,
    Prepared,
    content_lemmas,
    prepare,
)
from patron.feedback.analysis.result import Label, Topic

MODEL_VERSION = "3"
"""Bump whenever features or hyper-parameters change: it invalidates cached models."""
CACHE_DIR_ENV = "PATRON_FEEDBACK_CACHE_DIR"
SEED = 20240601
REGULARISATION_C = 2.0


@dataclass
class FeedbackModel:
    """A feature space, the two classifiers and the keyword IDF table."""

    space: FeatureSpace
    label_classifier: Any
    topic_classifier: Any
    idf: dict[str, float]
    default_idf: float

    @property
    def labels(self) -> list[Label]:
        """Label of each column of `label_probabilities`."""
        return [Label(value) for value in self.label_classifier.classes_]

    @property
    def topics(self) -> list[Topic]:
        """Topic of each column of `topic_probabilities`."""
        return [Topic(value) for value in self.topic_classifier.classes_]

    def label_probabilities(self, features: Any) -> FloatArray:
        """One row per text, one column per `labels` entry."""
        return np.asarray(self.label_classifier.predict_proba(features), dtype=np.float64)

    def topic_probabilities(self, features: Any) -> FloatArray:
        """One row per text, one column per `topics` entry."""
        return np.asarray(self.topic_classifier.predict_proba(features), dtype=np.float64)


def fit_model(
    examples: Sequence[tuple[Prepared, Label, Topic]], mode: AnalysisMode
) -> FeedbackModel:
    """Fit the feature space and both classifiers on labelled examples (deterministic)."""
    from sklearn.linear_model import LogisticRegression

    items = [item for item, _, _ in examples]
    space = FeatureSpace.fit(items, mode)
    features = space.transform(items)

    def classifier() -> Any:
        return LogisticRegression(
            C=REGULARISATION_C,
            solver="saga",
            max_iter=5000,
            class_weight="balanced",
            random_state=SEED,
        )

    idf, default_idf = _keyword_idf(items)
    model = FeedbackModel(space, classifier(), classifier(), idf, default_idf)
    model.label_classifier.fit(features, [label.value for _, label, _ in examples])
    model.topic_classifier.fit(features, [topic.value for _, _, topic in examples])
    return model


def _keyword_idf(items: Sequence[Prepared]) -> tuple[dict[str, float], float]:
    """Smoothed IDF of content lemmas over the training texts; unseen lemmas get the maximum."""
    document_frequency: Counter[str] = Counter()
    for item in items:
        document_frequency.update(set(content_lemmas(item)))
    total = len(items)
    idf = {
        lemma: float(np.log((1 + total) / (1 + count)) + 1.0)
        for lemma, count in document_frequency.items()
    }
    return idf, float(np.log(1 + total) + 1.0)


def train_from_shipped_data(mode: AnalysisMode) -> FeedbackModel:
    """Fit a new model on the shipped training split."""
    examples = [
        (prepare(example.text, example.language), example.label, example.topic)
        for example in load_examples(Split.TRAIN)
    ]
    return fit_model(examples, mode)


_LOCK = threading.Lock()
_MODELS: dict[str, FeedbackModel] = {}


def model_key(mode: AnalysisMode) -> str:
    """Identity of the model that the shipped data and this code version produce."""
    import sklearn

    text = f"{mode.value}:{MODEL_VERSION}:{sklearn.__version__}:{data_digest(Split.TRAIN)}"
    return f"{mode.value}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def get_model(mode: AnalysisMode) -> FeedbackModel:
    """The process-wide model of `mode`: fitted on first use, then reused.

    Fitting takes a few seconds in `fast` mode and 15-70 s in `accurate` mode on two
    shared cores (embedding the training texts dominates). With `PATRON_FEEDBACK_CACHE_DIR`
    set, a pickled model with the same key is loaded from there instead, and a freshly
    fitted one is saved there. Point it only at a directory no one else can write to:
    unpickling runs code.
    """
    key = model_key(mode)
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _load_cached(key) or _train_and_store(key, mode)
            _MODELS[key] = model
        return model


def _cache_path(key: str) -> Path | None:
    directory = os.environ.get(CACHE_DIR_ENV)
    return Path(directory) / f"feedback-model-{key}.pickle" if directory else None


def _trusted(path: Path) -> bool:
    """Unpickling runs code, so a cached model is read only from a file and a directory that
    no other user could have written: both owned by this process's user (or root), neither
    writable by group or others. Otherwise the model is fitted again (issue 16)."""
    owners = {os.geteuid(), 0}
    for place in (path, path.parent):
        found = place.stat()
        if found.st_uid not in owners or found.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def _load_cached(key: str) -> FeedbackModel | None:
    path = _cache_path(key)
    if path is None or not path.is_file() or not _trusted(path):
        return None
    with path.open("rb") as handle:
        loaded = pickle.load(handle)
    return loaded if isinstance(loaded, FeedbackModel) else None


def _train_and_store(key: str, mode: AnalysisMode) -> FeedbackModel:
    model = train_from_shipped_data(mode)
    path = _cache_path(key)
    if path is not None:
        _write(model, path)
    return model


def _write(model: FeedbackModel, path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(path)


def cache_models(directory: Path, modes: Sequence[AnalysisMode]) -> None:
    """Write this process's models of `modes` (fitted first if need be) into `directory`,
    where `get_model` of a process with `PATRON_FEEDBACK_CACHE_DIR=directory` finds them: a
    server started afterwards answers its first analysis without fitting."""
    for mode in modes:
        _write(get_model(mode), directory / f"feedback-model-{model_key(mode)}.pickle")


WARM_UP_ENV = "PATRON_FEEDBACK_WARM_UP"


def warm_up_in_background(modes: Sequence[AnalysisMode]) -> threading.Thread | None:
    """Fit (or load) the models of `modes` in a daemon thread, so that a server's first
    analysis does not wait for them; a request that comes earlier waits on the same lock.
    Skipped (None) when `PATRON_FEEDBACK_WARM_UP` is `0`."""
    if os.environ.get(WARM_UP_ENV, "1") == "0":
        return None

    def work() -> None:
        for mode in modes:
            get_model(mode)

    thread = threading.Thread(target=work, name="feedback-model-warm-up", daemon=True)
    thread.start()
    return thread
