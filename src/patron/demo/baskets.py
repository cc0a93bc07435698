"""Baskets: turn a visit's budget into 1 to 5 catalogue lines that cost about that much.

A customer has tastes (a Dirichlet draw around :data:`CATEGORY_WEIGHTS`) and a usual product
per category; a visit picks categories by taste, mostly the usual product, and a quantity that
spends the line's share of the budget. Online orders come from the shop's shelf (beans,
merchandise, gift cards, tea); café visits and app orders mostly from the counter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.demo.catalogue import CATEGORY_WEIGHTS, PRODUCTS, Category, Channel, Product
from patron.demo.sampling import cumulative, pick

CATEGORIES: tuple[Category, ...] = tuple(CATEGORY_WEIGHTS)
_BY_CATEGORY: dict[Category, tuple[Product, ...]] = {
    category: tuple(p for p in PRODUCTS if p.category is category) for category in CATEGORIES
}
_SHELF = {Category.BEANS: 4.0, Category.MERCHANDISE: 2.0, Category.GIFT: 1.0, Category.TEA: 0.6}
_COUNTER_DAMPING = {Category.BEANS: 0.6, Category.MERCHANDISE: 0.5, Category.GIFT: 0.5}
MAX_LINES = 5
_RUBLES_PER_LINE = 45_000  # a line per 450 RUB of budget, roughly


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    category: str
    quantity: int
    unit_price: int  # kopecks

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class Tastes:
    """One customer's category weights (running sums) per channel kind and usual products."""

    counter: tuple[float, ...]
    shelf: tuple[float, ...]
    usual: dict[Category, Product]


def draw_tastes(rng: np.random.Generator) -> Tastes:
    base = np.array([CATEGORY_WEIGHTS[c] for c in CATEGORIES])
    taste = rng.dirichlet(base * 12.0)
    counter = taste * np.array([_COUNTER_DAMPING.get(c, 1.0) for c in CATEGORIES])
    shelf = taste * np.array([_SHELF.get(c, 0.0) for c in CATEGORIES])
    usual = {c: _BY_CATEGORY[c][int(rng.integers(len(_BY_CATEGORY[c])))] for c in CATEGORIES}
    return Tastes(
        counter=cumulative(counter.tolist()), shelf=cumulative(shelf.tolist()), usual=usual
    )


def build_basket(
    rng: np.random.Generator, tastes: Tastes, channel: Channel, budget: float
) -> tuple[Line, ...]:
    """Lines for one visit; no SKU twice. ``budget`` is in kopecks."""
    weights = tastes.shelf if channel is Channel.ONLINE else tastes.counter
    extra = int(rng.poisson(max(budget / _RUBLES_PER_LINE - 0.6, 0.0)))
    count = min(1 + extra, MAX_LINES)
    share = budget / count
    lines: list[Line] = []
    used: set[str] = set()
    for _ in range(count):
        category = CATEGORIES[pick(rng, weights)]
        product = _pick_product(rng, tastes, category, used)
        if product is None:
            continue
        used.add(product.sku)
        quantity = max(1, min(round(share / product.price), product.max_quantity))
        lines.append(Line(product.sku, product.category.value, quantity, product.price))
    return tuple(lines)


def _pick_product(
    rng: np.random.Generator, tastes: Tastes, category: Category, used: set[str]
) -> Product | None:
    usual = tastes.usual[category]
    if usual.sku not in used and rng.random() < 0.6:
        return usual
    choices = [p for p in _BY_CATEGORY[category] if p.sku not in used]
    if not choices:
        return None
    return choices[int(rng.integers(len(choices)))]
