"""Purchase fingerprints keep the bytes stored fingerprints were made with (DB-free)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from patron.purchases.schemas import fingerprint

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _reference(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@given(st.dictionaries(st.text(), _VALUES, max_size=6))
def test_fingerprint_equals_the_json_dumps_reference(payload: dict[str, Any]) -> None:
    assert fingerprint(payload) == _reference(payload)


def test_integers_beyond_64_bits_take_the_reference_road() -> None:
    payload = {"member_id": 2**70, "external_id": "o-1"}
    assert fingerprint(payload) == _reference(payload)
