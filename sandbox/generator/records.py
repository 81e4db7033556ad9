"""The company's records as transactions see them: who and what may appear on a document of a day."""

from __future__ import annotations

import bisect
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.generator.values import Doc, Ref


@dataclass(slots=True)
class Term:
    ref: Ref
    days: int


@dataclass(slots=True)
class Party:
    """A customer or vendor: what its transactions need, and its open balance (cents)."""

    id: int
    ref: Ref
    doc: Doc
    ct: int
    lut: int
    since: int  # first day it may appear on a transaction (the day after it was created)
    until: int  # last such day: deactivated parties stop two days before their deactivation
    term: Term
    taxable: bool = True
    bill_addr: dict[str, str] | None = None
    ship_addr: dict[str, str] | None = None
    email: dict[str, str] | None = None
    parent: Party | None = None
    expense_account: str | None = None  # vendors: what they bill for (None: items from stock)
    balance: int = 0


@dataclass(slots=True)
class Item:
    id: int
    ref: Ref
    type: str
    price: int
    cost: int
    taxable: bool
    description: str
    since: int
    until: int
    qty: int = 0  # QtyOnHand (inventory)


@dataclass(slots=True)
class Worker:
    id: int
    ref: Ref
    rate: int
    since: int
    until: int


class Pool:
    """The members that may appear on a transaction dated `day`: created before it, not yet retired."""

    def __init__(self, members: Sequence[Any], skew: float = 1.0) -> None:
        self.members = sorted(members, key=lambda m: m.since)
        self.since = [m.since for m in self.members]
        self.skew = skew

    def __bool__(self) -> bool:
        return bool(self.members)

    def pick(self, rng: random.Random, day: int) -> Any:
        n = bisect.bisect_right(self.since, day)
        if n == 0:
            raise ValueError(f"nothing exists yet on day {day}")
        for _ in range(8):
            member = self.members[int(n * rng.random() ** self.skew)]
            if member.until >= day:
                return member
        return next(m for m in self.members[:n] if m.until >= day)


class Sticky:
    """Picks from a pool, often going back to someone picked lately: customers buy (and vendors deliver)
    in bursts, which is what lets one payment settle several documents."""

    def __init__(self, pool: Pool, share: float, memory: int = 6) -> None:
        self.pool = pool
        self.share = share
        self.recent: deque[Any] = deque(maxlen=memory)

    def pick(self, rng: random.Random, day: int) -> Any:
        if self.recent and rng.random() < self.share:
            member = self.recent[int(len(self.recent) * rng.random())]
            if member.until >= day:
                return member
        member = self.pool.pick(rng, day)
        self.recent.append(member)
        return member
