"""Strictness shared by the models and the routes: the base of every model of a program file
(and of the rule vocabulary: unknown fields are errors, values frozen), whole numbers written
with a point in JSON (``WHOLE``), and path and query integers in plain digits (``DIGITS``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _whole(value: Any) -> Any:
    """``5.0`` as ``5``: JSON Schema counts a number without a fraction as an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Before a strict ``int``: a whole number written with a point is still that number; "5",
# true and 5.5 stay errors.
WHOLE = BeforeValidator(_whole)


_DIGITS = re.compile(r"-?[0-9]+")


def _plain_digits(value: Any) -> Any:
    """A path or query integer arrives as text, which pydantic's lax ``int`` reads also when
    it is ``" 5"``, ``"5\\n"``, ``"+5"``, ``"1_0"`` or ``"5.0"``: those are refused as any other
    text that is not an integer (the same error), so ``/purchases/1_0`` is not purchase 10."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise PydanticCustomError(
            "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
        )
    return value


# After ``Path(...)`` or ``Query(...)`` of an ``int``: digits 0-9 and a leading minus only
# (before it, FastAPI would write the bounds into the schema under pydantic's names).
DIGITS = BeforeValidator(_plain_digits)
