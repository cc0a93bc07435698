"""What one per-event evaluation of the seed program costs (``patron.rules.evaluate``): a
purchase of five lines, best of 7 rounds of 3,000, in microseconds. The reference is the same
purchase scored by an empty program (no rules, no tiers), so the ratio is what the rules add.

    PYTHONPATH=src python bench/evaluate.py
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from patron.programs.loader import load_program
from patron.rules import evaluate
from patron.rules.context import LineContext, PurchaseContext

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed-program.yaml"
CATEGORIES = ["coffee", "tea", "bakery", "merch", "coffee"]


def best_of(program: object, context: PurchaseContext, rounds: int = 7, count: int = 3000) -> float:
    evaluate(program, context)  # type: ignore[arg-type]
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(count):
            evaluate(program, context)  # type: ignore[arg-type]
        best = min(best, (time.perf_counter() - started) / count)
    return best * 1e6


def main() -> None:
    text = SEED.read_text()
    program = load_program(text)
    bare = load_program(text.split("\n  rules:")[0] + "\n  rules: []\n")
    lines = tuple(
        LineContext(sku=f"S{i}", category=c, quantity=2, unit_price=1999)
        for i, c in enumerate(CATEGORIES)
    )
    context = PurchaseContext(
        occurred_at=datetime(2026, 12, 5, 12, tzinfo=UTC), lines=lines, total=5 * 3998
    )
    seed, reference = best_of(program, context), best_of(bare, context)
    print(f"seed program: {seed:.1f} µs an evaluation; no rules: {reference:.1f} µs")
    print(f"ratio seed/no rules: {seed / reference:.2f}")


if __name__ == "__main__":
    main()
