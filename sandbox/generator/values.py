"""Values every builder writes: amounts as QBO puts them on the wire, references, weighted draws."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

Doc = dict[str, Any]
Ref = dict[str, str]


def weighted_table(values: Sequence[Any], weights: Sequence[int]) -> tuple[Any, ...]:
    """A weighted choice as a lookup table: one `random()` per draw in the hot loops."""
    return tuple(value for value, weight in zip(values, weights, strict=True) for _ in range(weight))


def draw(rng: random.Random, table: Sequence[Any]) -> Any:
    return table[int(rng.random() * len(table))]


def wire(cents: int) -> int | float:
    """Cents as QBO writes an amount: `money` of the same value, without going through Decimal."""
    return cents // 100 if cents % 100 == 0 else cents / 100


def ref_to(value: int | str, name: str | None = None) -> Ref:
    return {"value": str(value), "name": name} if name is not None else {"value": str(value)}
