"""The shipped, hand-written training and validation data."""

from __future__ import annotations

from collections import Counter

import pytest

from patron.feedback.analysis.dataset import Split, data_digest, load_examples
from patron.feedback.analysis.result import Label, Language

TRAIN = load_examples(Split.TRAIN)
VALIDATION = load_examples(Split.VALIDATION)


def test_sizes() -> None:
    assert len(TRAIN) + len(VALIDATION) >= 900
    per_language = Counter(example.language for example in TRAIN + VALIDATION)
    assert all(per_language[language] >= 300 for language in Language)


@pytest.mark.parametrize("language", list(Language))
def test_validation_is_at_least_a_fifth_of_each_language_and_label(language: Language) -> None:
    for label in Label:
        train = sum(1 for e in TRAIN if (e.language, e.label) == (language, label))
        held_out = sum(1 for e in VALIDATION if (e.language, e.label) == (language, label))
        assert held_out >= 5
        assert held_out / (train + held_out) >= 0.2


def test_splits_do_not_share_texts() -> None:
    train_texts = {example.text.casefold() for example in TRAIN}
    assert not [e.text for e in VALIDATION if e.text.casefold() in train_texts]
    assert len(train_texts) == len(TRAIN)


def test_digest_identifies_the_file() -> None:
    assert len(data_digest(Split.TRAIN)) == 64
    assert data_digest(Split.TRAIN) != data_digest(Split.VALIDATION)
