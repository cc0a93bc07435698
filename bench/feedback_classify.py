"""Throughput of feedback text analysis on a batch of mixed, perturbed texts.

Builds N texts (default 10,000) from the shipped examples of all three languages with
seeded perturbations (typos, case, emoji, joined texts, lead-in phrases), fits or loads the
model first (timed apart), then times one `analyze` call over the batch and prints texts/s
and texts per CPU second of the process (all its threads): on a busy machine the second
figure is the load-independent one, and on an idle 2-core machine the wall-clock rate is at
least as high.
With --validation it also prints the held-out scores per language; with --tune, the cascade's
threshold grid on the validation split (macro-F1 per language and the share of texts sent to
the accurate model) and the share the batch would send at each threshold.

    PYTHONPATH=src python bench/feedback_classify.py --validation          # cascade, the default
    PYTHONPATH=src python bench/feedback_classify.py --mode fast
    PYTHONPATH=src python bench/feedback_classify.py --mode accurate --validation
    PYTHONPATH=src python bench/feedback_classify.py --tune --count 3000
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter

import numpy as np

from patron.feedback.analysis import AnalysisMode, analyze, cascade
from patron.feedback.analysis.cascade import probabilities
from patron.feedback.analysis.dataset import Example, Split, load_examples
from patron.feedback.analysis.evaluation import evaluate, macro_f1
from patron.feedback.analysis.features import prepare
from patron.feedback.analysis.language import detect_languages
from patron.feedback.analysis.model import get_model
from patron.feedback.analysis.result import Language

THRESHOLDS = [0.0, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 0.9, 1.01]

EMOJI = ["😡", "👍", "🙏", "😊", "🤬", "❤️", "!!!", "...", "??"]
LEAD_INS = {
    Language.RU: ["Честно говоря, ", "Короче, ", "Добрый день! "],
    Language.PL: ["Szczerze mówiąc, ", "No więc ", "Dzień dobry! "],
    Language.EN: ["Honestly, ", "So ", "Hi there! "],
}


def typo(text: str, rng: random.Random) -> str:
    """Swap, drop or double one letter."""
    positions = [i for i, char in enumerate(text[:-1]) if char.isalpha()]
    if not positions:
        return text
    i = rng.choice(positions)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def perturb(example: Example, same_language: list[Example], rng: random.Random) -> str:
    """One realistic variant of an example."""
    text = example.text
    for _ in range(rng.randrange(3)):
        text = typo(text, rng)
    roll = rng.random()
    if roll < 0.15:
        text = text.lower()
    elif roll < 0.2:
        text = text.upper()
    if rng.random() < 0.25:
        text = f"{text} {rng.choice(EMOJI)}"
    if rng.random() < 0.2:
        text = f"{text} {rng.choice(same_language).text}"
    if rng.random() < 0.15:
        text = rng.choice(LEAD_INS[example.language]) + text[:1].lower() + text[1:]
    return text


def build_batch(count: int, seed: int) -> list[str]:
    """`count` texts sampled from both splits and perturbed, reproducible by `seed`."""
    rng = random.Random(seed)
    examples = list(load_examples(Split.TRAIN) + load_examples(Split.VALIDATION))
    by_language = {
        language: [e for e in examples if e.language is language] for language in Language
    }
    batch = []
    for _ in range(count):
        example = rng.choice(examples)
        batch.append(perturb(example, by_language[example.language], rng))
    return batch


def fast_confidence(texts: list[str]) -> np.ndarray:
    """The fast model's best label probability of each text (what the cascade routes on)."""
    languages = detect_languages(texts, Language.EN)
    prepared = [prepare(text, language) for text, language in zip(texts, languages, strict=True)]
    found = probabilities(prepared, AnalysisMode.FAST)
    return np.asarray(found.label_rows.max(axis=1))


def tune(batch: list[str]) -> None:
    """The threshold grid: validation macro-F1 per language and routed shares."""
    examples = load_examples(Split.VALIDATION)
    prepared = [prepare(e.text, e.language) for e in examples]
    fast = probabilities(prepared, AnalysisMode.FAST)
    accurate = probabilities(prepared, AnalysisMode.ACCURATE)
    fast_labels = [fast.labels[i] for i in fast.label_rows.argmax(axis=1)]
    accurate_labels = [accurate.labels[i] for i in accurate.label_rows.argmax(axis=1)]
    confidence = fast.label_rows.max(axis=1)
    batch_confidence = fast_confidence(batch)
    for threshold in THRESHOLDS:
        chosen = [
            a if c < threshold else f
            for f, a, c in zip(fast_labels, accurate_labels, confidence, strict=True)
        ]
        scores = [
            macro_f1(
                [e.label for e in examples if e.language is language],
                [c for e, c in zip(examples, chosen, strict=True) if e.language is language],
            )
            for language in Language
        ]
        print(
            f"threshold {threshold:.2f}: macro-F1 "
            + " ".join(f"{lang.value} {sc:.3f}" for lang, sc in zip(Language, scores, strict=True))
            + f" mean {sum(scores) / 3:.3f}; routed: validation"
            f" {np.mean(confidence < threshold):.3f}, batch"
            f" {np.mean(batch_confidence < threshold):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=[m.value for m in AnalysisMode], default="cascade")
    parser.add_argument("--validation", action="store_true", help="print held-out scores")
    parser.add_argument("--tune", action="store_true", help="print the cascade threshold grid")
    parser.add_argument("--threshold", type=float, help="cascade threshold to measure instead")
    args = parser.parse_args()
    mode = AnalysisMode(args.mode)
    if args.threshold is not None:
        cascade.CASCADE_THRESHOLD = args.threshold
    if mode is AnalysisMode.CASCADE:
        print(f"cascade threshold: {cascade.CASCADE_THRESHOLD}")

    print(f"cores available: {len(os.sched_getaffinity(0))}, load: {os.getloadavg()}")
    started = time.perf_counter()
    for needed in [AnalysisMode.FAST, AnalysisMode.ACCURATE] if mode.value == "cascade" else [mode]:
        get_model(needed)
    analyze(["warm up the detector and lemmatisers", "разогрев", "rozgrzewka"], mode=mode)
    print(f"model ready ({mode.value}): {time.perf_counter() - started:.1f} s")

    texts = build_batch(args.count, args.seed)
    if args.tune:
        tune(texts)
        return
    started, cpu_started = time.perf_counter(), time.process_time()
    results = analyze(texts, mode=mode)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    labels = Counter(result.label.value for result in results)
    languages = Counter(result.language.value for result in results)
    print(f"analysed {len(texts)} texts in {elapsed:.1f} s: {len(texts) / elapsed:.0f} texts/s")
    print(
        f"CPU time of the process (all threads): {cpu:.1f} s = {len(texts) / cpu:.0f} texts per"
        f" CPU second; load after: {os.getloadavg()}"
    )
    print(f"labels: {dict(sorted(labels.items()))}, languages: {dict(sorted(languages.items()))}")
    distinct = len(set(texts))
    if mode is AnalysisMode.CASCADE:
        routed = float(
            np.mean(fast_confidence(list(dict.fromkeys(texts))) < cascade.CASCADE_THRESHOLD)
        )
        print(f"distinct texts: {distinct}; sent to the accurate model: {routed:.3f} of them")
    else:
        print(f"distinct texts: {distinct}")

    if args.validation:
        for score in evaluate(mode):
            print(
                f"{score.language.value}: n={score.examples} "
                f"accuracy={score.label_accuracy:.3f} macro-F1={score.label_macro_f1:.3f} "
                f"topic accuracy={score.topic_accuracy:.3f}"
            )


if __name__ == "__main__":
    main()
