"""A program as stored: its normalised JSON document, checksum and field-level diff.

The document is the validated model's JSON dump (every field present, defaults filled in,
decimals as strings), so two files that differ only in comments, key order, quoting or
spelled-out defaults have the same document and the same checksum.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from patron.programs.schema import Program

Document = dict[str, Any]

# Lists of mappings are compared item by item under these keys (rules and levels by id,
# rewards by code, campaigns and surveys by key), so that an edit reads
# `earning.rules[weekend-boost].limit.per_member`.
_ITEM_KEYS = ("id", "code", "key")
_BARE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/+-]*$")
_MISSING = object()


def document_of(program: Program) -> Document:
    return program.model_dump(mode="json")


def normalised_json(document: Document) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the form the checksum is taken of."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checksum(document: Document) -> str:
    """SHA-256 (hex) of :func:`normalised_json`."""
    return hashlib.sha256(normalised_json(document).encode()).hexdigest()


def diff_documents(old: Document, new: Document) -> list[str]:
    """One line per changed field, in document order.

    ``earning.rules[weekend-boost].limit.per_member: 4 -> 5``; an item of a keyed list that
    appears or disappears reads ``rewards[FREESHIP]: removed`` or
    ``earning.rules[happy-hour]: added {...}``; a reordering of a keyed list reads
    ``earning.rules: order coffee-double, big-basket -> big-basket, coffee-double``.
    """
    return list(_diff(old, new, ""))


def _diff(old: Any, new: Any, path: str) -> Iterator[str]:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for name in [*old, *(name for name in new if name not in old)]:
            yield from _diff_member(old.get(name, _MISSING), new.get(name, _MISSING), path, name)
        return
    if isinstance(old, list) and isinstance(new, list):
        key = _item_key(old, new)
        if key is not None:
            yield from _diff_keyed(old, new, path, key)
            return
    yield f"{path}: {render(old)} -> {render(new)}"


def _diff_member(old: Any, new: Any, path: str, name: str) -> Iterator[str]:
    child = f"{path}.{name}" if path else name
    if old is _MISSING:
        yield f"{child}: added {render(new)}"
    elif new is _MISSING:
        yield f"{child}: removed"
    else:
        yield from _diff(old, new, child)


def _item_key(old: list[Any], new: list[Any]) -> str | None:
    """The key that names every item of both lists uniquely, if there is one."""
    items = [*old, *new]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in _ITEM_KEYS:
        named = all(key in item for item in items)
        if named and all(len({item[key] for item in side}) == len(side) for side in (old, new)):
            return key
    return None


def _diff_keyed(old: list[Document], new: list[Document], path: str, key: str) -> Iterator[str]:
    old_items = {item[key]: item for item in old}
    new_items = {item[key]: item for item in new}
    for name, item in old_items.items():
        if name not in new_items:
            yield f"{path}[{name}]: removed"
        else:
            yield from _diff(item, new_items[name], f"{path}[{name}]")
    for name, item in new_items.items():
        if name not in old_items:
            yield f"{path}[{name}]: added {render(item)}"
    old_order = [name for name in old_items if name in new_items]
    new_order = [name for name in new_items if name in old_items]
    if old_order != new_order:
        yield f"{path}: order {', '.join(old_order)} -> {', '.join(new_order)}"


def render(value: Any) -> str:
    """A compact YAML-like flow rendering; null fields of mappings are left out."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if _BARE.fullmatch(value) else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(render(item) for item in value) + "]"
    if isinstance(value, dict):
        fields = (f"{name}: {render(item)}" for name, item in value.items() if item is not None)
        return "{" + ", ".join(fields) + "}"
    return json.dumps(value, ensure_ascii=False)
