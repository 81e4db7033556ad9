"""Company time for a generated history: local days as epoch seconds, edits after creation.

Every timestamp is made here from the anchor and the seed's draws; nothing reads the clock, so the
same seed on the same anchor makes the same company."""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial
from zoneinfo import ZoneInfo

from sandbox.clock import format_meta

HISTORY_DAYS = 3 * 365
HOUR = 3600


class Clock:
    """Company-local days 0..last (last = anchor) as epoch seconds: every timestamp is made here."""

    def __init__(self, anchor: date, tz: str, history_days: int = HISTORY_DAYS) -> None:
        zone = ZoneInfo(tz)
        self.first = anchor - timedelta(days=history_days)
        self.last = history_days
        self._midnight = [
            int(datetime.combine(self.first + timedelta(days=d), time(), zone).timestamp())
            for d in range(history_days + 2)
        ]
        self._iso = [(self.first + timedelta(days=d)).isoformat() for d in range(history_days + 121)]
        self.end = self._midnight[-1] - 1  # the anchor's last second: nothing happens later
        self.format = lru_cache(maxsize=1 << 16)(partial(format_meta, tz=tz))

    def at(self, day: int, seconds: int) -> int:
        return self._midnight[day] + seconds

    def business(self, rng: random.Random, day: int) -> int:
        """A moment in office hours: people enter transactions between 8:00 and 18:00."""
        return self._midnight[day] + rng.randint(8 * HOUR, 18 * HOUR)

    def day_of(self, ts: int) -> int:
        return bisect.bisect_right(self._midnight, ts) - 1

    def iso(self, day: int) -> str:
        return self._iso[day] if day < len(self._iso) else (self.first + timedelta(days=day)).isoformat()

    def date(self, day: int) -> date:
        return self.first + timedelta(days=day)

    def meta(self, ct: int, lut: int) -> dict[str, str]:
        return {"CreateTime": self.format(ct), "LastUpdatedTime": self.format(lut)}

    def later(
        self, rng: random.Random, start: int, chance: float, most: int = 2, stop: int | None = None
    ) -> list[int]:
        """Edit times after `start` (no later than `stop`): most records are never touched again."""
        stop = self.end if stop is None else stop
        if stop <= start + 60 or rng.random() >= chance:
            return []
        return sorted(rng.randint(start + 60, stop) for _ in range(rng.randint(1, most)))

    def daily_counts(self, total: int, first_day: int = 1, days: Iterable[int] | None = None) -> list[int]:
        """Spread exactly `total` documents over days: business grows over the years, weekends are quiet."""
        counts = [0] * (self.last + 1)
        chosen = list(range(first_day, self.last + 1)) if days is None else list(days)
        if not chosen or total <= 0:
            return counts
        weights = [
            (0.6 + 0.8 * d / self.last) * (1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.15)[self.date(d).weekday()]
            for d in chosen
        ]
        scale, running, placed = total / sum(weights), 0.0, 0
        for day, weight in zip(chosen, weights, strict=True):
            running += weight * scale
            upto = min(total, round(running))
            counts[day] = upto - placed
            placed = upto
        counts[chosen[-1]] += total - placed
        return counts


def stamp(ct: int, events: Iterable[int]) -> tuple[int, int]:
    """(LastUpdatedTime, SyncToken) after the given edits: each one bumps the token."""
    times = [t for t in events if t > ct]
    return (max(times, default=ct), len(times))


def edited(clock: Clock, rng: random.Random, ct: int, chance: float = 0.05) -> tuple[int, int]:
    """(LastUpdatedTime, SyncToken) of a record someone may have edited once after making it."""
    return stamp(ct, clock.later(rng, ct, chance, 1))


def creation_times(clock: Clock, rng: random.Random, n: int, imported: float, import_ts: int) -> list[int]:
    """The first share arrive in one import (one second, a tie); the rest join over the years."""
    count = max(1, int(n * imported)) if n else 0
    later = sorted(clock.business(rng, rng.randint(1, max(1, clock.last - 60))) for _ in range(n - count))
    return [import_ts] * count + later
