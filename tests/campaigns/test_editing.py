"""The text edit behind ``POST``/``PATCH /campaigns``: only the ``campaigns:`` section of the
source is written anew; the rest of the file, comments included, stays as it was."""

from __future__ import annotations

from patron.campaigns.editing import merge_patch, replace_section
from patron.programs.loader import load_program

SOURCE = """\
# my shop
program: {name: Shop, currency: PLN}   # zł
earning: {base: {points: 1, per_amount: "1.00"}}
campaigns:
  # old comment
  - key: old
    name: {en: Old}
    window: {start: "2027-01-01", end: "2027-01-31"}
    effect: {bonus_points: 5}
# the limits
limits:
  max_points_per_purchase: 500
"""
NEW = {
    "key": "new",
    "name": {"pl": "Nowa"},
    "window": {"start": "2027-02-01", "end": "2027-02-28 18:00"},
    "effect": {"bonus_points": 7},
}


def test_only_the_section_is_replaced() -> None:
    text = replace_section(SOURCE, [NEW])
    assert text.startswith("# my shop\nprogram: {name: Shop, currency: PLN}   # zł\n")
    assert "key: old" not in text
    assert "# old comment" not in text
    assert text.endswith("# the limits\nlimits:\n  max_points_per_purchase: 500\n")
    assert "campaigns:\n  - key: new\n" in text
    program = load_program(text)
    assert [c.key for c in program.campaigns] == ["new"]
    assert program.limits.max_points_per_purchase == 500
    # and again, on the text it wrote
    twice = replace_section(text, [NEW, {**NEW, "key": "newer"}])
    assert [c.key for c in load_program(twice).campaigns] == ["new", "newer"]
    assert twice.endswith("# the limits\nlimits:\n  max_points_per_purchase: 500\n")


def test_a_file_without_campaigns_gets_the_section_appended() -> None:
    plain = SOURCE.split("campaigns:")[0].rstrip("\n")
    text = replace_section(plain, [NEW])
    assert text.startswith(plain + "\n\ncampaigns:\n")
    assert [c.key for c in load_program(text).campaigns] == ["new"]


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}
    assert merge_patch(target, {"a": None, "b": {"c": None, "x": 1}, "e": [3]}) == {
        "b": {"d": 3, "x": 1},
        "e": [3],
    }
    assert target == {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}  # not changed in place
