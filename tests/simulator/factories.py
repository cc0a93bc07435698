"""Histories for the simulator tests: purchase files in the columns of ``patron import
purchases``, and the small programs the tests compute by hand."""

from __future__ import annotations

from pathlib import Path

from tests.purchases.bulk.factories import HEADER

# One point per 1.00, a bonus of 10 points at most twice a month, Silver (x2) from 100 points
# earned in the rolling month, no pending time, points never expire; UTC months.
MONTHLY_PROGRAM = """
program: {name: Monthly, currency: PLN, timezone: UTC}
earning:
  base: {points: 1, per_amount: "1.00"}
  rules:
    - id: visit-bonus
      name: "Visit bonus"
      effect: {bonus_points: BONUS}
      limit: {per_member: 2, period: month}
tiers:
  qualify_on: points_earned
  window: rolling_1_months
  levels:
    - {id: silver, name: Silver, threshold: 100, earn_multiplier: 2}
rewards:
  - {code: GIFT10, name: "10 PLN gift", kind: gift_certificate, value: "10.00", cost_points: 100}
"""


# A limited rule that depends on the tier: its one use goes to the first Silver purchase, so
# scoring every purchase as Silver spends it too early and the replay must rescore.
WELCOME_PROGRAM = """
program: {name: Welcome, currency: PLN, timezone: UTC}
earning:
  base: {points: 1, per_amount: "1.00"}
  rules:
    - id: welcome-silver
      name: "Welcome to Silver"
      when: {tier_in: [silver]}
      effect: {bonus_points: 50}
      limit: {per_member: 1}
tiers:
  levels:
    - {id: silver, name: Silver, threshold: 100}
"""


def monthly_program(bonus: int = 10) -> str:
    return MONTHLY_PROGRAM.replace("BONUS", str(bonus))


Line = tuple[str, str, int, str]  # sku, category, quantity, unit price


def purchase_rows(
    external_id: str,
    member: str,
    at: str,
    total: str,
    lines: list[Line],
    *,
    currency: str = "RUB",
    shipping: str = "",
) -> list[list[str]]:
    return [
        [external_id, member, at, currency, total, shipping, "", "", sku, category, str(q), price]
        for sku, category, q, price in lines
    ]


def write_history(path: Path, rows: list[list[str]]) -> Path:
    text = "\n".join(",".join(row) for row in [HEADER, *rows]) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def seed_history(path: Path) -> Path:
    """The seed program's documented examples, then a purchase 13 months later (see
    ``test_service.py`` for the figures)."""
    rows = [
        *purchase_rows("o-1", "c-1", "2026-12-01T10:00:00Z", "120000.00",
                       [("beans-1", "beans", 1, "120000.00")]),
        *purchase_rows("o-2", "c-1", "2026-12-08T10:00:00Z", "1200.00",
                       [("cof-1", "coffee", 1, "500.00"), ("tea-2", "tea", 1, "700.00")]),
        *purchase_rows("o-3", "c-2", "2026-12-18T10:00:00Z", "1700.00",
                       [("cof-1", "coffee", 1, "500.00"), ("tea-2", "tea", 1, "700.00"),
                        ("cake", "pastry", 2, "250.00")]),
        *purchase_rows("o-4", "", "2026-12-18T11:00:00Z", "349.90",
                       [("mug", "merch", 1, "150.00")], shipping="199.90"),
        *purchase_rows("o-5", "c-2", "2028-01-10T10:00:00Z", "100.00",
                       [("tea-2", "tea", 1, "100.00")]),
    ]  # fmt: skip
    return write_history(path, rows)


def monthly_history(path: Path) -> Path:
    """Member m: 60.00 and 40.00 in January (Silver after the second), 10.00 on Jan 25 and
    Feb 3 (Silver), 10.00 on Mar 5 (reviewed down to no tier at the end of February)."""
    rows = [
        row
        for n, (at, total) in enumerate(
            [
                ("2026-01-10T12:00:00Z", "60.00"),
                ("2026-01-20T12:00:00Z", "40.00"),
                ("2026-01-25T12:00:00Z", "10.00"),
                ("2026-02-03T12:00:00Z", "10.00"),
                ("2026-03-05T12:00:00Z", "10.00"),
            ]
        )
        for row in purchase_rows(f"m-{n}", "m", at, total, [("sku", "c", 1, total)], currency="PLN")
    ]
    return write_history(path, rows)


CAMPAIGN_PROGRAM = """
program: {name: Campaigns, currency: PLN, timezone: Europe/Warsaw}
earning:
  base: {points: 1, per_amount: "1.00"}
  rules:
    - id: visit
      name: Visit
      effect: {bonus_points: 5}
      limit: {per_member: 2, period: week}
tiers:
  levels:
    - {id: silver, name: Silver, threshold: 1500}
    - {id: gold, name: Gold, threshold: 4000, earn_multiplier: 1.5}
campaigns:
  - key: spring-bonus
    name: {en: Spring bonus}
    window: {start: "2026-03-01", end: "2026-05-31"}
    when: {order_total_gte: "100.00"}
    effect: {bonus_points: 40}
    limits: {per_member: 2, period: week}
    budget: {points: 2000}
  - key: tea-lines
    name: {en: Tea lines}
    window: {start: "2026-03-01", end: "2026-05-31"}
    when: {line_category_in: [tea]}
    effect: {multiply_lines: 3}
    stacking: best_of
  - key: double-april
    name: {en: Double April}
    window: {start: "2026-04-01", end: "2026-04-30"}
    audience: {tiers: [silver, gold]}
    effect: {multiply_order: 2}
    stacking: best_of
  - key: weekend-coffee
    name: {en: Weekend coffee}
    window: {start: "2026-03-01", end: "2026-05-31"}
    when: {line_category_in: [coffee], weekday_in: [sat, sun]}
    effect: {bonus_points: 25}
    stacking: priority
    limits: {total: 6}
  - key: cakes-first
    name: {en: Cakes first}
    window: {start: "2026-03-01", end: "2026-05-31"}
    when: {line_category_in: [cakes]}
    effect: {multiply_lines: 1.5}
    stacking: priority
  - key: big-basket
    name: {en: Big basket}
    window: {start: "2026-03-01", end: "2026-05-31"}
    when: {order_total_gte: "700.00"}
    effect: {bonus_points: 100}
    stacking: exclusive
    priority: 5
    limits: {per_member: 1, period: month}
  - key: lucky-third
    name: {en: Every third}
    window: {start: "2026-03-01", end: "2026-05-31"}
    when: {order_total_gte: "50.00"}
    prize: {every: 3}
    effect: {bonus_points: 7}
  - key: lucky-draw
    name: {en: Lucky draw}
    window: {start: "2026-03-01", end: "2026-05-31"}
    prize: {probability: "0.3"}
    effect: {bonus_points: 11}
  - key: spring-raffle
    name: {en: Spring raffle}
    window: {start: "2026-03-01", end: "2026-05-31"}
    raffle: {per_amount: "100.00"}
  - key: spring-cashback
    name: {en: Spring cashback}
    window: {start: "2026-03-01", end: "2026-05-31"}
    when: {order_total_gte: "30.00"}
    effect: {bonus_points: 3}
    deferred:
      - credit_wallet: {percent: "5"}
    budget: {money: "40.00"}
  - key: welcome-back
    name: {en: Welcome back}
    trigger: birthday
    window: {start: "2026-03-01", end: "2026-05-31"}
    effect: {bonus_points: 50}
"""


# The same campaigns without anything that makes a purchase's campaigns depend on earlier
# purchases (no limits, budgets or every-N-th prize): the replay's vectorised stacking only.
STACKED_PROGRAM = (
    CAMPAIGN_PROGRAM.replace(
        "    limits: {per_member: 2, period: week}\n    budget: {points: 2000}\n", ""
    )
    .replace("    limits: {total: 6}\n", "")
    .replace("    limits: {per_member: 1, period: month}\n", "")
    .replace("    prize: {every: 3}\n", "")
    .replace('    budget: {money: "40.00"}\n', "")
)
