"""The transactions made one document per draw: spread over the history, written in chunks."""

from __future__ import annotations

import random
from collections.abc import Callable

from sandbox.generator.context import Context
from sandbox.generator.values import Doc

Builder = Callable[[random.Random, int, int, int], tuple[Doc, int]]


def stream(ctx: Context, entity: str, count: int, build: Builder) -> None:
    """`count` documents spread over the history, ids in creation order, written in chunks."""
    if count <= 0:
        return
    rng, clock, chunk = ctx.rng(entity), ctx.clock, ctx.profile.chunk
    counts = clock.daily_counts(count)
    batch: list[tuple[Doc, int, int]] = []
    made = 0
    for day in range(1, clock.last + 1):
        for ct in sorted(clock.business(rng, day) for _ in range(counts[day])):
            doc, lut = build(rng, ctx.take_ids(entity), day, ct)
            batch.append((doc, ct, lut))
        if len(batch) >= chunk or (day == clock.last and batch):
            ctx.write(entity, batch)
            made += len(batch)
            ctx.progress(f"{entity} {made:,}/{count:,}")
            batch = []
