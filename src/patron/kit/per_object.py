"""A small cache of what is derived from an object that is not changed once made (a loaded
program): keyed by the object's identity, holding the object itself so that its ``id`` cannot
be reused by another while the entry lives, and bounded (the oldest entry goes first)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class PerObject(Generic[K, V]):
    """``derive(obj)``, made once per object (identity, not equality) while it is cached."""

    def __init__(self, derive: Callable[[K], V], size: int = 64) -> None:
        self._derive = derive
        self._size = size
        self._entries: dict[int, tuple[K, V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __call__(self, obj: K) -> V:
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        value = self._derive(obj)
        if len(self._entries) >= self._size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[id(obj)] = (obj, value)
        return value
