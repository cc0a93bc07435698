from __future__ import annotations

from patron.kit.per_object import PerObject


class _Thing:
    def __init__(self, value: int) -> None:
        self.value = value


def test_derived_once_per_object_by_identity_and_bounded() -> None:
    made: list[int] = []

    def derive(thing: _Thing) -> int:
        made.append(thing.value)
        return thing.value * 10

    cache: PerObject[_Thing, int] = PerObject(derive, size=3)
    one, twin = _Thing(1), _Thing(1)
    assert (cache(one), cache(one), cache(twin)) == (10, 10, 10)
    assert made == [1, 1]  # the twin is equal in value, not the same object
    for value in range(5):
        cache(_Thing(value))
    assert len(cache) == 3
    assert cache(one) == 10
    assert made[-1] == 1  # evicted, so derived again
