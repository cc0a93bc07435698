from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path

import pytest

from patron.programs.errors import ProgramInvalidError, ProgramProblem
from patron.programs.loader import format_path, load_program, split_path
from patron.programs.schema import LimitPeriod, Rounding, Weekday

SEED = (Path(__file__).resolve().parents[2] / "examples" / "seed-program.yaml").read_text()


def edited(*replacements: tuple[str, str]) -> str:
    """The seed with each ``old`` (which must occur exactly once) replaced by ``new``."""
    text = SEED
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(text)
    return caught.value.errors


def test_seed_is_accepted_unchanged() -> None:
    program = load_program(SEED)
    assert program.program.name == "Demo Store Rewards"
    assert program.currency == "RUB"
    assert program.program.timezone == "Europe/Moscow"
    assert program.earning.base.points == 100
    assert program.earning.base.per_amount == Decimal("1000.00")
    assert program.earning.base.rounding is Rounding.FLOOR
    assert [rule.id for rule in program.earning.rules] == [
        "coffee-double",
        "big-basket",
        "weekend-boost",
    ]
    assert program.earning.rules[0].effect.multiply_lines == Decimal(2)
    assert program.earning.rules[1].effect.bonus_points == 500
    assert program.earning.rules[1].when.order_total_gte == Decimal("10000.00")
    boost = program.earning.rules[2]
    assert boost.when.weekday_in == [Weekday.SAT, Weekday.SUN]
    assert boost.when.between == (date(2026, 12, 1), date(2026, 12, 31))
    assert boost.effect.multiply_order == Decimal("1.5")
    assert boost.limit is not None
    assert (boost.limit.per_member, boost.limit.period) == (4, LimitPeriod.MONTH)
    assert program.earning.pending_days == 14
    assert program.earning.expiry.after_months == 12
    assert program.tiers is not None
    assert [(t.id, t.threshold, t.earn_multiplier) for t in program.tiers.levels] == [
        ("bronze", Decimal(1000), Decimal("1.0")),
        ("silver", Decimal(5000), Decimal("1.25")),
        ("gold", Decimal(15000), Decimal("1.5")),
    ]
    assert program.tiers.rolling_months == 12
    assert [(r.code, r.cost_points) for r in program.rewards] == [
        ("DISC10", 100),
        ("FREESHIP", 100),
        ("GIFT500", 1000),
        ("GOLD-PREVIEW", 0),
    ]
    assert program.minor(program.rewards[2].value or Decimal(0)) == 50000


WINDOW_PROBLEM = "must be lifetime, calendar_year or rolling_N_months (N from 1 to 120)"

INVALID = [
    pytest.param(
        [("bonus_points: 500", "multiply_lines: 0")],
        [("earning.rules[1].effect.multiply_lines", "must be greater than 0")],
        id="multiplier-zero",
    ),
    pytest.param(
        [("bonus_points: 500", 'bonus_points: "500"')],
        [("earning.rules[1].effect.bonus_points", "must be a whole number")],
        id="points-as-text",
    ),
    pytest.param(
        [("bonus_points: 500", "bonus_points: 500\n        multiply_order: 2")],
        [
            (
                "earning.rules[1].effect",
                "give exactly one of multiply_lines, multiply_order, bonus_points",
            )
        ],
        id="two-effects",
    ),
    pytest.param(
        [("per_member: 4", "per_membr: 4")],
        [
            ("earning.rules[2].limit.per_member", "is required"),
            ("earning.rules[2].limit.per_membr", "is not a known field; did you mean per_member?"),
        ],
        id="typo-in-field",
    ),
    pytest.param(
        [("currency: RUB", "currency: RUR")],
        [("program.currency", "must be an ISO 4217 currency code such as RUB, PLN or EUR")],
        id="currency",
    ),
    pytest.param(
        [("timezone: Europe/Moscow", "timezone: Europe/Moskva")],
        [("program.timezone", "must be an IANA time zone such as Europe/Moscow")],
        id="timezone",
    ),
    pytest.param(
        [("id: coffee-double", "id: Coffee Double")],
        [
            (
                "earning.rules[0].id",
                "must be 1 to 64 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit",
            )
        ],
        id="rule-id",
    ),
    pytest.param(
        [("rounding: floor", "rounding: nearest")],
        [("earning.base.rounding", "must be 'floor', 'round' or 'ceil'")],
        id="rounding",
    ),
    pytest.param(
        [("multiply_order: 1.5", "multiply_order: 1.23456")],
        [("earning.rules[2].effect.multiply_order", "must have at most 4 decimal places")],
        id="multiplier-places",
    ),
    pytest.param(
        [('between: ["2026-12-01", "2026-12-31"]', 'between: ["2026-12-31", "2026-12-01"]')],
        [("earning.rules[2].when.between", "the first date must not be after the second")],
        id="between-reversed",
    ),
    pytest.param(
        [('between: ["2026-12-01", "2026-12-31"]', 'between: ["2026-12-01", "soon"]')],
        [("earning.rules[2].when.between[1]", "must be a date such as 2026-12-31")],
        id="between-not-a-date",
    ),
    pytest.param(
        [("weekday_in: [sat, sun]", "weekday_in: [sat, sunday]")],
        [
            (
                "earning.rules[2].when.weekday_in[1]",
                "must be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
            )
        ],
        id="weekday",
    ),
    pytest.param(
        [("line_category_in: [coffee]", "line_category_in: []")],
        [("earning.rules[0].when.line_category_in", "must have at least 1 item")],
        id="empty-list",
    ),
    pytest.param(
        [("threshold: 5000", "threshold: 500")],
        [("tiers.levels", "tier thresholds must strictly increase")],
        id="thresholds",
    ),
    *(
        pytest.param(
            [("window: rolling_12_months", f"window: {written}")],
            [("tiers.window", WINDOW_PROBLEM)],
            id=name,
        )
        for written, name in [
            ("rolling_0_months", "window"),
            ('"rolling_12_months\\n"', "window-newline"),
            ("rolling_١٢_months", "window-other-digits"),
        ]
    ),
    pytest.param(
        [("    value: 10\n", "    value: 150\n")],
        [("rewards[0].value", "percent_discount needs a whole percent from 1 to 100")],
        id="percent",
    ),
    pytest.param(
        [('    value: "500.00"\n', "")],
        [("rewards[2].value", "gift_certificate needs a money amount")],
        id="certificate-without-value",
    ),
    pytest.param(
        [("id: big-basket", "id: coffee-double")],
        [("earning.rules[1].id", "rule id 'coffee-double' is used twice")],
        id="duplicate-rule-id",
    ),
    pytest.param(
        [("after_months: 12 ", "after_months: 12\n    never: true ")],
        [
            (
                "earning.expiry.never",
                "must not be true together with after_days, after_months or round_to",
            )
        ],
        id="expiry-never-and-months",
    ),
    pytest.param(
        [('per_amount: "1000.00"', 'per_amount: "1000.001"')],
        [("earning.base.per_amount", "has more than 2 decimal places for RUB")],
        id="money-places",
    ),
    pytest.param(
        [("min_tier: gold", "min_tier: platinum")],
        [("rewards[3].min_tier", "'platinum' is not a tier id")],
        id="unknown-tier",
    ),
    pytest.param(
        [('  name: "Demo Store Rewards"\n', "")],
        [("program.name", "is required")],
        id="missing-name",
    ),
    pytest.param(
        [("earning:\n", "earnings:\n")],
        [
            ("earning", "is required"),
            ("earnings", "is not a known field; did you mean earning?"),
        ],
        id="misspelt-section",
    ),
    pytest.param(
        [("returns:\n", "refunds:\n")],
        [("refunds", "is not a known field; did you mean returns?")],
        id="misspelt-optional-section",
    ),
    pytest.param(
        [("returns:\n", "bank:\n")],
        [
            (
                "bank",
                "is not a known field; known fields here: abuse, access, campaigns, challenges, "
                "earning, limits, messages, partners, program, purchases, referrals, returns, "
                "reviews, rewards, rule_sets, segments, standing_discounts, support, surveys, "
                "tiers",
            )
        ],
        id="unknown-section",
    ),
    pytest.param(
        [("  exclude_shipping: true\n", "  exclude_shipping: true\n  exclude_shipping: false\n")],
        [("earning.exclude_shipping", "is written twice (lines 28 and 29)")],
        id="duplicate-key",
    ),
    pytest.param(
        [("      when:\n        order_total_gte", "      when: []\n        order_total_gte")],
        [("line 39, column 9", "expected <block end>, but found '<block mapping start>'")],
        id="yaml-syntax",
    ),
    pytest.param(
        [('between: ["2026-12-01", "2026-12-31"]', "between: [2026-02-30, 2026-12-31]")],
        [
            (
                "line 46, column 19",
                "'2026-02-30' is not a valid date (day is out of range for month)",
            )
        ],
        id="impossible-unquoted-date",
    ),
]


@pytest.mark.parametrize(("replacements", "expected"), INVALID)
def test_invalid_programs_give_path_and_message(
    replacements: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    assert problems_of(edited(*replacements)) == expected


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = edited(
        ("bonus_points: 500", "multiply_lines: 0"),
        ("rounding: floor", "rounding: nearest"),
        ("per_member: 4", "per_member: -1"),
        ("threshold: 15000", 'threshold: "lots"'),
        ("    cost_points: 1000\n", "    cost_points: 1.5\n"),
        ("when_points_already_spent: debt", "when_points_already_spent: forgive"),
    )
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(text)
    error = caught.value
    assert [(p.line, p.path, p.message) for p in error.problems] == [
        (27, "earning.base.rounding", "must be 'floor', 'round' or 'ceil'"),
        (41, "earning.rules[1].effect.multiply_lines", "must be greater than 0"),
        (50, "earning.rules[2].limit.per_member", "must be greater than 0"),
        (72, "tiers.levels[2].threshold", "must be a number"),
        (92, "rewards[2].cost_points", "must be a whole number"),
        (
            102,
            "returns.when_points_already_spent",
            "must be 'debt', 'cap_at_available' or 'refuse'",
        ),
    ]
    assert error.format_errors() == [
        "earning.base.rounding: must be 'floor', 'round' or 'ceil'",
        "earning.rules[1].effect.multiply_lines: must be greater than 0",
        "earning.rules[2].limit.per_member: must be greater than 0",
        "tiers.levels[2].threshold: must be a number",
        "rewards[2].cost_points: must be a whole number",
        "returns.when_points_already_spent: must be 'debt', 'cap_at_available' or 'refuse'",
    ]
    assert error.code == "program_invalid"
    assert error.status == 422
    assert error.field == "earning.base.rounding"
    assert error.message == (
        "the program file has 6 problems; first: earning.base.rounding: "
        "must be 'floor', 'round' or 'ceil'"
    )


def test_cross_section_problems_are_reported_together() -> None:
    text = edited(
        ("min_tier: gold", "min_tier: platinum"),
        ("  - code: FREESHIP", "  - code: DISC10"),
        ('per_amount: "1000.00"', 'per_amount: "0.001"'),
        ("line_category_in: [coffee]", "tier_in: [gold, diamond]"),
    )
    assert problems_of(text) == [
        ("earning.base.per_amount", "has more than 2 decimal places for RUB"),
        ("earning.rules[0].when.tier_in", "names unknown tiers ['diamond']"),
        ("rewards[1].code", "reward code 'DISC10' is used twice"),
        ("rewards[3].min_tier", "'platinum' is not a tier id"),
    ]


def test_problem_lines_point_at_the_field() -> None:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(edited(("min_tier: gold", "min_tier: platinum")))
    assert caught.value.problems == (
        ProgramProblem("rewards[3].min_tier", "'platinum' is not a tier id", 98),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [("", "the program file is empty")]),
        ("# only a comment\n", [("", "the program file is empty")]),
        ("- a\n- b\n", [("", "the program file must be a mapping of sections")]),
        (
            "program: [1,\n  2\n",
            [("line 3, column 1", "expected ',' or ']', but got '<stream end>'")],
        ),
        ("a: 1\n---\nb: 2\n", [("line 2, column 1", "but found another document")]),
        # characters YAML does not allow anywhere in a file (the reader refused them before
        # the parse began, outside the problems: a 500 in the API and the console)
        (
            "program:\n  key: def\x01ault\n",
            [("line 2, column 11", "the character U+0001 is not allowed in YAML")],
        ),
        ("\x7f", [("line 1, column 1", "the character U+007F is not allowed in YAML")]),
        ("a: b\x00\n", [("line 1, column 5", "the character U+0000 is not allowed in YAML")]),
        ("a: \ud800\n", [("line 1, column 4", "the character U+D800 is not allowed in YAML")]),
    ],
)
def test_documents_that_are_not_programs(text: str, expected: list[tuple[str, str]]) -> None:
    assert problems_of(text) == expected


def test_to_dict_carries_every_problem() -> None:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(edited(("bonus_points: 500", "multiply_lines: 0")))
    assert caught.value.to_dict() == {
        "error": {
            "code": "program_invalid",
            "message": "the program file has 1 problem; first: "
            "earning.rules[1].effect.multiply_lines: must be greater than 0",
            "field": "earning.rules[1].effect.multiply_lines",
            "params": {},
            "details": [
                {
                    "path": "earning.rules[1].effect.multiply_lines",
                    "message": "must be greater than 0",
                    "line": 41,
                    "code": "greater_than",
                    "params": {"bound": "0"},
                }
            ],
        }
    }


def test_clock_times_are_not_read_as_base_60_numbers() -> None:
    program = load_program(
        edited(
            (
                "weekday_in: [sat, sun]",
                "weekday_in: [sat, sun]\n        time_between: [10:30, 18:00]",
            )
        )
    )
    assert program.earning.rules[2].when.time_between == (time(10, 30), time(18, 0))


def test_numbers_keep_their_yaml_meaning() -> None:
    program = load_program(
        edited(
            ("    points: 100\n", "    points: 1_000\n"),
            ("multiply_order: 1.5", "multiply_order: 2.50"),
        )
    )
    assert program.earning.base.points == 1000
    assert program.earning.rules[2].effect.multiply_order == Decimal("2.50")


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        (
            "earning.rules[1].effect.multiply_lines",
            ("earning", "rules", 1, "effect", "multiply_lines"),
        ),
        ("rewards[0]", ("rewards", 0)),
        ("tiers", ("tiers",)),
        ("", ()),
    ],
)
def test_paths_round_trip(path: str, loc: tuple[str | int, ...]) -> None:
    assert format_path(loc) == path
    assert split_path(path) == loc


def test_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    assert problems_of("\n".join(lines) + "\n") == [
        ("", "the program file has more than 100000 values once aliases are expanded")
    ]


def test_merge_key_bombs_are_refused_before_they_are_merged() -> None:
    """Each mapping merges the one before twice: 2**21 pairs once merged. PyYAML 6.0.3 built
    them all (seconds, hundreds of MB); 6.0.4 merges each key once, which hid the bomb from a
    count made after construction. The count comes first."""
    lines = ["a0: &a0 {k: 1}"]
    lines += [f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], k{i}: 1}}" for i in range(1, 22)]
    assert problems_of("\n".join(lines) + "\n") == [
        ("", "the program file has more than 100000 values once aliases are expanded")
    ]


def test_huge_files_are_refused() -> None:
    assert problems_of("#" * 1_000_001) == [
        ("", "the program file is longer than 1000000 characters")
    ]


def test_anchors_and_aliases_work_within_the_limit() -> None:
    text = edited(
        (
            "      when:\n        line_category_in: [coffee]\n",
            "      when: &coffee\n        line_category_in: [coffee]\n",
        ),
        ('      when:\n        order_total_gte: "10000.00"\n', "      when: *coffee\n"),
    )
    program = load_program(text)
    assert program.earning.rules[1].when == program.earning.rules[0].when
    assert program.earning.rules[1].when.line_category_in == ["coffee"]
    assert program.earning.rules[1].when.order_total_gte is None
