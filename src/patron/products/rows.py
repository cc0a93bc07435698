"""One product row of the catalogue, checked and normalised.

A row comes from a file (every value text, missing = ``None``) or from ``POST /products``
(JSON values, ``names`` as an object). :func:`parse_product` turns it into a
:class:`ProductRow` or into the list of its problems, each naming the column. The file's
``name_ru``, ``name_pl`` and ``name_en`` are the names per language; ``name`` is the default
name (when empty: the name in the program's language, else the first of ru, pl, en given).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import orjson

from patron.kit import money
from patron.kit.errors import InvalidInputError
from patron.kit.language import LANGUAGES as LANGUAGES
from patron.products.errors import ProductProblem
from patron.programs.schema import Program

NAME_COLUMNS = tuple(f"name_{language}" for language in LANGUAGES)
REQUIRED = ("sku",)
OPTIONAL = ("name", *NAME_COLUMNS, "category", "price", "currency", "launched_at", "active")
MAX_LENGTH = {"sku": 128, "category": 128, "name": 200, **dict.fromkeys(NAME_COLUMNS, 200)}
_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,4})?$")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


@dataclass(frozen=True, slots=True)
class Problem:
    column: str
    code: ProductProblem
    message: str


@dataclass(frozen=True, slots=True)
class ProductRow:
    """A product as the catalogue will store it; ``checksum`` is over every field."""

    sku: str
    name: str
    names: dict[str, str] = field(default_factory=dict)
    category: str | None = None
    price: int | None = None
    currency: str | None = None
    launched_at: datetime | None = None
    active: bool = True
    checksum: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        body = (
            self.sku,
            self.name,
            self.names,
            self.category,
            self.price,
            self.currency,
            self.launched_at,
            self.active,
        )
        digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        object.__setattr__(self, "checksum", digest)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _moment(text: str) -> datetime:
    """An ISO 8601 date (its start, UTC) or instant (no offset = UTC)."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Parser:
    """Collects the problems of one row while converting its values."""

    def __init__(self, values: Mapping[str, Any], program: Program) -> None:
        self.values = values
        self.program = program
        self.problems: list[Problem] = []

    def fail(self, column: str, code: ProductProblem, message: str) -> None:
        self.problems.append(Problem(column, code, message))

    def failed(self, *columns: str) -> bool:
        return any(problem.column in columns for problem in self.problems)

    def text(self, column: str) -> str | None:
        value = _text(self.values.get(column))
        if value is None:
            return None
        if "\x00" in value:
            self.fail(column, ProductProblem.INVALID_VALUE, "must not contain a NUL character")
            return None
        limit = MAX_LENGTH.get(column)
        if limit is not None and len(value) > limit:
            self.fail(column, ProductProblem.TOO_LONG, f"at most {limit} characters")
            return None
        return value

    def names(self) -> tuple[str, dict[str, str]]:
        names = {
            language: text
            for language, column in zip(LANGUAGES, NAME_COLUMNS, strict=True)
            if (text := self.text(column)) is not None
        }
        name = self.text("name")
        if name is None:
            preferred = self.program.program.default_language.value
            name = names.get(preferred) or next(iter(names.values()), None)
        if name is None and not self.failed("name", *NAME_COLUMNS):
            self.fail("name", ProductProblem.MISSING_VALUE, "give name or a name_ru/pl/en")
        return name or "", names

    def currency(self) -> str | None:
        text = self.text("currency")
        if text is None:
            return None
        if not money.is_currency(text.upper()):
            self.fail("currency", ProductProblem.INVALID_VALUE, f"{text!r} is no ISO 4217 code")
            return None
        return text.upper()

    def price(self, currency: str) -> int | None:
        text = self.text("price")
        if text is None:
            return None
        if not _AMOUNT.fullmatch(text):
            self.fail("price", ProductProblem.INVALID_AMOUNT, f"not a decimal amount: {text!r}")
            return None
        try:
            return money.parse_amount(text, currency, field="price")
        except InvalidInputError as error:
            self.fail("price", ProductProblem.INVALID_AMOUNT, error.message)
            return None

    def launched_at(self) -> datetime | None:
        text = self.text("launched_at")
        if text is None:
            return None
        try:
            return _moment(text)
        except ValueError:
            self.fail("launched_at", ProductProblem.INVALID_TIME, "must be a date or an instant")
            return None

    def active(self) -> bool:
        text = self.text("active")
        if text is None:
            return True
        if text.lower() in _TRUE or text.lower() in _FALSE:
            return text.lower() in _TRUE
        self.fail("active", ProductProblem.INVALID_VALUE, "must be true or false")
        return True


def parse_product(values: Mapping[str, Any], program: Program) -> ProductRow | list[Problem]:
    """The row as a :class:`ProductRow`, or every problem found in it. A price without a
    currency is in the program's currency."""
    parser = _Parser(values, program)
    sku = parser.text("sku")
    if sku is None and not parser.failed("sku"):
        parser.fail("sku", ProductProblem.MISSING_VALUE, "is required")
    name, names = parser.names()
    currency = parser.currency()
    price = parser.price(currency or program.currency)
    row = ProductRow(
        sku=sku or "",
        name=name,
        names=names,
        category=parser.text("category"),
        price=price,
        currency=(currency or program.currency) if price is not None else currency,
        launched_at=parser.launched_at(),
        active=parser.active(),
    )
    return parser.problems or row
