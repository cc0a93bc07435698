"""The program file's ``partners`` section: what it accepts and every problem it reports, with
the path at fault."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patron.programs.errors import ProgramInvalidError
from patron.programs.loader import load_program
from patron.programs.partner_settings import price_units
from tests.conftest import SEED_PROGRAM
from tests.partners.helpers import PARTNERS


def _problems(section: str) -> list[str]:
    with pytest.raises(ProgramInvalidError) as caught:
        load_program(SEED_PROGRAM.read_text() + section)
    return [problem.path for problem in caught.value.problems]


def test_the_section_is_read_and_the_prices_are_exact() -> None:
    program = load_program(SEED_PROGRAM.read_text() + PARTNERS)
    assert [p.id for p in program.partners] == ["cafe-nord", "kino"]
    kino = program.partner("kino")
    assert kino is not None
    assert (
        price_units(kino.earn.price_per_point, "RUB") == 13_300
    )  # 0.0133 RUB = 1.33 kopecks, in 1/10**4 of one
    assert price_units(Decimal("0.0375"), "RUB") == 37_500
    assert price_units(Decimal("0.000001"), "RUB") == 1
    assert program.partner("nobody") is None


def test_a_program_without_partners_keeps_its_document() -> None:
    program = load_program(SEED_PROGRAM.read_text())
    assert program.partners == []
    assert "partners" not in program.model_dump(mode="json", exclude_defaults=False)


@pytest.mark.parametrize(
    ("section", "paths"),
    [
        (
            PARTNERS.replace("id: kino", "id: cafe-nord"),
            ["partners[1].id"],
        ),
        (
            PARTNERS.replace('per_amount: "10.00"', 'per_amount: "10.001"'),
            ["partners[0].earn.per_amount"],
        ),
        (PARTNERS.replace('"0.0375"', '"0.0000001"'), ["partners[0].burn.price_per_point"]),
        (
            PARTNERS.replace("    name: Kino Polar\n", "    name: Kino Polar\n    currency: XYZ\n"),
            ["partners[1].currency"],
        ),
        (PARTNERS.replace("id: kino", "id: Kino Polar"), ["partners[1].id"]),
        (PARTNERS.replace("points: 2,", "points: 0,"), ["partners[0].earn.points"]),
        (PARTNERS.replace('"0.50"', '"-1"'), ["partners[1].burn.price_per_point"]),
        (PARTNERS.replace('    burn: {price_per_point: "0.50"}\n', ""), ["partners[1].burn"]),
    ],
)
def test_each_problem_names_its_path(section: str, paths: list[str]) -> None:
    assert section != PARTNERS
    assert _problems(section) == paths
