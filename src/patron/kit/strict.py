"""The base of every model of a program file (and of the rule vocabulary): unknown fields are
errors, values frozen."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


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
