"""Reading an entity by cursor on `MetaData.LastUpdatedTime`: QBO's clock, windows of it, and pages.

A window is a range [since, until) of LastUpdatedTime read page by page, each page restarting at the
last LastUpdatedTime seen and skipping the rows of that second already read, so a row updated mid-run
cannot shift an offset and hide another row (STACK_NOTES §7.15), and a second holding more rows than a
page is still read whole. A window with rows left can be split at the middle of what it has left: two
cursors over disjoint ranges read one huge entity at once (scan.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sources.quickbooks import settings
from sources.quickbooks.catalog import EntitySpec

if TYPE_CHECKING:
    from sources.quickbooks.client import QboClient

_SMALLEST_SPLIT = timedelta(seconds=2)  # QBO's clock has whole seconds: a narrower range cannot be halved


def parse_time(value: str) -> datetime:
    """A QBO timestamp (any offset, `Z`, or the older `-0700`) as an aware UTC datetime."""
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without offset: {value!r}")
    return parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def select(spec: EntitySpec, conditions: Iterable[str] = ()) -> str:
    where = list(conditions)
    if spec.has_active:
        where.append("Active IN (true, false)")  # name lists hide inactive rows otherwise (PEERS.md §4)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT * FROM {spec.name}{clause}"


@dataclass
class Window:
    """One cursor: the rows of `spec` with `since <= LastUpdatedTime < until` (None: unbounded)."""

    spec: EntitySpec
    since: datetime | None = None  # the anchor: where the next page starts
    until: datetime | None = None
    skip: int = 0  # rows at `since` already read
    page_size: int = settings.MAX_RESULTS
    done: bool = False
    read: int = 0  # rows read, and the earliest LastUpdatedTime among them: how dense the entity is
    first_seen: datetime | None = None

    def query(self) -> str:
        conditions = []
        if self.since is not None:
            conditions.append(f"MetaData.LastUpdatedTime >= '{iso(self.since)}'")
        if self.until is not None:
            conditions.append(f"MetaData.LastUpdatedTime < '{iso(self.until)}'")
        return (
            f"{select(self.spec, conditions)} ORDERBY MetaData.LastUpdatedTime "
            f"STARTPOSITION {self.skip + 1} MAXRESULTS {self.page_size}"
        )

    def advance(self, rows: list[dict]) -> None:
        """Move past a page this window's query answered: a short page is its last."""
        self.read += len(rows)
        if len(rows) < self.page_size:
            self.done = True
            return
        stamps = [parse_time(r["MetaData"]["LastUpdatedTime"]) for r in rows]
        last = max(stamps)
        self.first_seen = min(stamps) if self.first_seen is None else min(self.first_seen, *stamps)
        if self.since is not None and last == self.since:
            self.skip += len(rows)
        else:
            self.since, self.skip = last, stamps.count(last)

    def expected(self, now: datetime) -> float | None:
        """Rows expected in what is left (up to `now` when unbounded), at the density read so far; None
        before a page spanning more than a second (all in one second: no density to go by)."""
        if self.done or self.since is None or self.first_seen is None or self.since <= self.first_seen:
            return None
        density = self.read / (self.since - self.first_seen).total_seconds()
        return density * max(0.0, ((self.until or now) - self.since).total_seconds())

    def split(self, now: datetime) -> Window | None:
        """Give away the upper half of what is left (up to `now` when unbounded): a new window from the
        middle on, this one stopping there. Only when each half is expected to hold a page or more:
        a split costs a request (its last, short page), and one into an empty range costs it for nothing.
        None when not worth it, or the rest is too narrow to halve."""
        expected = self.expected(now)
        if expected is None or expected < 2 * self.page_size or self.since is None:
            return None
        upper = self.until or now
        if upper - self.since < _SMALLEST_SPLIT:
            return None
        middle = self.since + (upper - self.since) / 2
        middle = middle.replace(microsecond=0) + timedelta(seconds=1)  # whole seconds, past the anchor
        if middle >= upper:
            return None
        rest = Window(self.spec, middle, self.until, page_size=self.page_size)
        self.until = middle
        return rest


def cursor_pages(
    client: QboClient,
    spec: EntitySpec,
    since: datetime | None = None,
    until: datetime | None = None,
    page_size: int | None = None,
) -> Iterator[list[dict]]:
    """Every row with `since <= LastUpdatedTime < until`, in pages, one cursor, one request at a time."""
    window = Window(spec, since, until, page_size=page_size or settings.MAX_RESULTS)
    while not window.done:
        rows = client.query(window.query()).get(spec.name) or []
        if rows:
            yield rows
        window.advance(rows)
