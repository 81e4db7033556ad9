"""Who pays what, when: invoices and bills paid around their due date, some late, some in two goes,
some never, several often settled by one payment."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.generator.context import Context
from sandbox.generator.records import Party
from sandbox.generator.timeline import HOUR


@dataclass(frozen=True)
class Habits:
    """How a kind of document gets paid: the settlement planner's knobs."""

    never: float  # left open for good (the overdue tail)
    partial: float  # paid in two instalments
    merge: float  # folded into one payment with the party's other documents due about then
    window: int  # days within which documents are paid together
    batch: float  # paid in a same-second batch (bank-feed sync, "Pay bills" run)
    batch_seconds: int  # when in the day that batch runs


CUSTOMER_HABITS = Habits(never=0.04, partial=0.06, merge=0.75, window=30, batch=0.12, batch_seconds=19 * HOUR)
VENDOR_HABITS = Habits(never=0.02, partial=0.04, merge=0.85, window=30, batch=0.35, batch_seconds=17 * HOUR)


@dataclass(slots=True)
class Due:
    """An invoice or bill awaiting money."""

    index: int  # position in its chunk
    id: int  # the invoice's (bill's) Id
    party: Party
    day: int
    ct: int
    total: int
    due_day: int
    deadline: int | None  # the party is deactivated: paid in full by then


@dataclass(slots=True)
class Settlement:
    """A payment or bill payment: what it applies to which document, and any unapplied amount."""

    party: Party
    day: int
    applied: list[tuple[Due, int]]
    extra: int = 0
    ct: int = 0
    id: int = 0

    @property
    def total(self) -> int:
        return sum(amount for _due, amount in self.applied) + self.extra


def lateness(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.15:
        return -rng.randint(0, 20)
    if roll < 0.75:
        return rng.randint(-3, 10)
    if roll < 0.95:
        return rng.randint(10, 45)
    return rng.randint(45, 120)


def settle(rng: random.Random, dues: Sequence[Due], last_day: int, habits: Habits) -> list[Settlement]:
    """Most documents are paid around their due date, some late, some in two goes, some never; a party
    often pays several documents with one payment."""
    singles: list[Settlement] = []
    intents: dict[int, list[tuple[int, Due]]] = {}
    for due in dues:
        bound = due.deadline
        if bound is None and rng.random() < habits.never:
            continue
        day = max(due.day, due.due_day + lateness(rng))
        day = min(day, bound) if bound is not None else day
        if day > last_day:
            continue
        if bound is None and due.total >= 200 and rng.random() < habits.partial:
            first = due.total * rng.randint(20, 70) // 100
            singles.append(Settlement(due.party, day, [(due, first)]))
            rest = day + rng.randint(7, 45)
            if rest <= last_day and rng.random() < 0.6:
                singles.append(Settlement(due.party, rest, [(due, due.total - first)]))
            continue
        intents.setdefault(due.party.id, []).append((day, due))
    grouped: list[Settlement] = []
    for plans in intents.values():
        plans.sort(key=lambda plan: (plan[0], plan[1].index))
        current, opened = None, 0
        for day, due in plans:
            if (
                current
                and day - opened <= habits.window
                and len(current.applied) < 5
                and rng.random() < habits.merge
            ):
                current.applied.append((due, due.total))
                current.day = day
            else:
                current, opened = Settlement(due.party, day, [(due, due.total)]), day
                grouped.append(current)
    return singles + grouped


def time_settlements(
    ctx: Context, rng: random.Random, entity: str, settlements: list[Settlement], habits: Habits
) -> None:
    """Creation times (after every document they pay) and ids in creation order."""
    clock = ctx.clock
    for s in settlements:
        floor = max((due.ct for due, _ in s.applied), default=0)
        ct = (
            clock.at(s.day, habits.batch_seconds)
            if rng.random() < habits.batch
            else clock.business(rng, s.day)
        )
        s.ct = ct if ct > floor else floor + rng.randint(60, HOUR)
    settlements.sort(key=lambda s: (s.ct, s.party.id, s.applied[0][0].index if s.applied else -1))
    first = ctx.take_ids(entity, len(settlements))
    for n, s in enumerate(settlements):
        s.id = first + n
