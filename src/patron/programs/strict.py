"""The base of every model of the program file (now in :mod:`patron.kit.strict`, which the
rule vocabulary shares)."""

from patron.kit.strict import WHOLE, Strict

__all__ = ["WHOLE", "Strict"]
