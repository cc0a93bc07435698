"""Fitting is deterministic; the on-disk cache round-trips the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from patron.feedback.analysis import model as model_module
from patron.feedback.analysis.dataset import Split, load_examples
from patron.feedback.analysis.features import AnalysisMode, prepare
from patron.feedback.analysis.model import (
    CACHE_DIR_ENV,
    FeedbackModel,
    cache_models,
    get_model,
    model_key,
    train_from_shipped_data,
)

SAMPLE = [prepare(e.text, e.language) for e in load_examples(Split.VALIDATION)[:30]]


def probabilities(model: FeedbackModel) -> np.ndarray:
    return model.label_probabilities(model.space.transform(SAMPLE))


def test_refitting_gives_identical_probabilities() -> None:
    first = train_from_shipped_data(AnalysisMode.FAST)
    second = train_from_shipped_data(AnalysisMode.FAST)
    assert np.array_equal(probabilities(first), probabilities(second))
    assert first.idf == second.idf


def test_model_key_depends_on_mode() -> None:
    fast, accurate = model_key(AnalysisMode.FAST), model_key(AnalysisMode.ACCURATE)
    assert fast.startswith("fast-")
    assert accurate.startswith("accurate-")
    assert fast[5:] != accurate[9:]


def test_get_model_is_memoised() -> None:
    assert get_model(AnalysisMode.FAST) is get_model(AnalysisMode.FAST)


def test_disk_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(model_module, "_MODELS", {})
    fitted = get_model(AnalysisMode.FAST)
    files = sorted(path.name for path in (tmp_path / "cache").iterdir())
    assert files == [f"feedback-model-{model_key(AnalysisMode.FAST)}.pickle"]

    def refuse(mode: AnalysisMode) -> FeedbackModel:
        raise AssertionError("the cached model should have been loaded")

    monkeypatch.setattr(model_module, "_MODELS", {})
    monkeypatch.setattr(model_module, "train_from_shipped_data", refuse)
    loaded = get_model(AnalysisMode.FAST)
    assert loaded is not fitted
    assert np.array_equal(probabilities(loaded), probabilities(fitted))


def test_cache_models_writes_what_get_model_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted = get_model(AnalysisMode.FAST)
    cache_models(tmp_path, [AnalysisMode.FAST])

    def refuse(mode: AnalysisMode) -> FeedbackModel:
        raise AssertionError("the cached model should have been loaded")

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(model_module, "_MODELS", {})
    monkeypatch.setattr(model_module, "train_from_shipped_data", refuse)
    loaded = get_model(AnalysisMode.FAST)
    assert loaded is not fitted
    assert np.array_equal(probabilities(loaded), probabilities(fitted))
