"""Full scans of a realm's entities, many requests in flight, within the realm's budget (issue 19).

One entity's pages depend on one another (each starts where the last ended), so a scan done page by
page waits the sum of QBO's latencies: 1-3 s a page on real QBO, an hour for a large company. Here:
- the first page of every entity is asked in `/batch` calls of up to 30 queries: most entities fit in
  one page and cost no request of their own;
- an entity with more rows goes on as a cursor window (cursor.py); while fewer cursors read it than
  there are workers, its window with the most rows left is split in two, so one huge entity is read
  by several cursors over disjoint ranges of LastUpdatedTime;
- `workers` threads send (QBO allows 10 in flight per realm); every request still takes a slot of the
  realm's budget, which every process of the realm shares, so QBO's limits hold across processes;
- pages wait in a bounded buffer for the dlt resource that emits them (a batch's first pages, one an
  entity at most, aside). Entities are served in the order the consumer reads them: the one being
  emitted, then the next, and so on, each while the pages out and waiting for it and for those before
  it leave room. The next entity is split and fetched while the current one's last pages are read, so
  the consumer does not wait a round of latencies at each entity. Memory stays bounded, and no
  consumer waits on a page that no worker may fetch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sources.quickbooks import errors, settings
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.client import QboClient
from sources.quickbooks.cursor import Window, parse_time


@dataclass
class _First:
    """The first page of some entities' windows, asked together."""

    windows: list[Window]


@dataclass
class _Entity:
    windows: list[Window] = field(default_factory=list)
    pages: deque[tuple[list[dict], bool]] = field(default_factory=deque)  # (rows, asked alone)
    buffered: int = 0  # pages waiting that were asked alone (a batch's first pages do not count)
    asked: int = 0  # requests in flight for it
    started: bool = False  # its first page has been answered


class Scan:
    """Every row of `entities` within [since, until), fetched by `workers` threads; `pages(entity)`
    gives an entity's pages as they arrive (in no particular order between its windows).

    `started` is QBO's clock at the earliest answer: the checkpoint a run keeps."""

    def __init__(
        self,
        client: QboClient,
        entities: Sequence[str],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        workers: int = settings.MAX_IN_FLIGHT,
        buffered_pages: int | None = None,
        page_size: int | None = None,
        batch: bool = True,
    ) -> None:
        if workers < 1:
            raise ValueError("a scan needs at least one worker")
        self.client = client
        self.order = list(entities)
        self.workers = workers
        # pages out and waiting: the workers' requests and 2 more. A page of 1,000 parsed invoices holds
        # megabytes; twice as many cost a medium sync 65 MiB, and the consumer waited as long for pages
        # under QBO's latency either way (bench/limits_bench.py)
        self.limit = buffered_pages if buffered_pages is not None else workers + 2
        self.started: datetime | None = None
        self._state = {e: _Entity() for e in self.order}
        size = page_size or settings.MAX_RESULTS
        firsts = [Window(ENTITIES[e], since, until, page_size=size) for e in self.order]
        per_call = settings.MAX_BATCH_ITEMS if batch else 1
        self._firsts = deque(_First(firsts[n : n + per_call]) for n in range(0, len(firsts), per_call))
        self._cond = threading.Condition()
        self._current: str | None = None
        self._in_flight = 0
        self._error: BaseException | None = None
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._out: set[int] = set()  # ids of the windows a request is out for

    # the consumer's side ------------------------------------------------------------------------
    def pages(self, entity: str) -> Iterator[list[dict]]:
        if entity not in self._state:
            raise KeyError(f"{entity} is not part of this scan")
        self._start()
        state = self._state[entity]
        finished = False
        try:
            while True:
                with self._cond:
                    self._current = entity
                    self._cond.notify_all()
                    while not state.pages and not self._finished(state) and self._error is None:
                        self._cond.wait()
                    if self._error is not None:
                        raise self._error
                    if not state.pages:
                        self._current = None
                        finished = True
                        return
                    page, alone = state.pages.popleft()
                    state.buffered -= alone
                    self._cond.notify_all()
                yield page
        finally:
            if not finished:  # the consumer failed or gave up: the workers stop
                self.close()

    def close(self) -> None:
        """Stop fetching (a consumer that gave up); requests in flight finish, nothing new starts."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # the workers' side --------------------------------------------------------------------------
    def _start(self) -> None:
        with self._cond:
            if self._threads:
                return
            for n in range(self.workers):
                thread = threading.Thread(target=self._work, name=f"qbo-scan-{n}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _work(self) -> None:
        while True:
            task = self._next_task()
            if task is None:
                return
            try:
                answer = self._fetch(task)
            except BaseException as exc:  # the consumer raises it; every worker stops
                if isinstance(exc, errors.QboError) and not exc.entity and isinstance(task, Window):
                    exc.entity = task.spec.name  # a batch's failure is the consumer's entity's to report
                with self._cond:
                    self._in_flight -= 1
                    self._error = self._error or exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._in_flight -= 1
                self._complete(task, answer)
                self._cond.notify_all()

    def _next_task(self) -> _First | Window | None:
        with self._cond:
            while True:
                if self._error is not None or self._closed or self._all_done():
                    return None
                task = self._choose()
                if task is not None:
                    self._in_flight += 1
                    for window in task.windows if isinstance(task, _First) else [task]:
                        self._state[window.spec.name].asked += 1
                        self._out.add(id(window))
                    return task
                self._cond.wait()

    def _choose(self) -> _First | Window | None:
        """First pages before anything else (the consumer's first); then windows of the entities in the
        order the consumer reads them, each while the pages out and waiting for it and the entities
        before it stay under the limit. An entity read by fewer cursors than there are workers has its
        widest ready window split first: the next free worker takes the new one, whatever the others
        are doing (a split waiting for idle workers left the entity being read on one cursor while the
        workers fetched the entities after it)."""
        if self._firsts:
            mine = next((f for f in self._firsts if self._current in _names(f)), None)
            task = mine or self._firsts[0]
            self._firsts.remove(task)
            return task
        now = self._now()
        outstanding = 0
        for entity in self._queue():
            state = self._state[entity]
            outstanding += state.buffered + state.asked
            if outstanding >= self.limit:
                return None
            ready = [w for w in state.windows if not w.done and id(w) not in self._out]
            live = sum(1 for w in state.windows if not w.done)
            while ready and live < self.workers and outstanding + len(ready) < self.limit:
                rest = max(ready, key=lambda w: w.expected(now) or 0.0).split(now)
                if rest is None:
                    break
                state.windows.append(rest)
                ready.append(rest)
                live += 1
            if ready:
                return max(ready, key=lambda w: w.expected(now) or 0.0)
        return None

    def _queue(self) -> list[str]:
        """The entities in the order the consumer reads them: the one it reads now, those after it,
        then those before it (a consumer reading out of order still gets every page)."""
        at = self.order.index(self._current) if self._current is not None else 0
        return self.order[at:] + self.order[:at]

    def _fetch(self, task: _First | Window) -> tuple[list[list[dict]], str | None]:
        """Each window's page (HTTP, outside the lock) and the answer's server time."""
        windows = task.windows if isinstance(task, _First) else [task]
        if len(windows) == 1:
            (window,) = windows
            found, at = self.client.query_at(window.query())
            return [found.get(window.spec.name) or []], at
        items = [{"bId": str(n), "Query": w.query()} for n, w in enumerate(windows)]
        answers, at = self.client.batch_at(items)
        by_id = {a.get("bId"): a for a in answers}
        pages = []
        for n, window in enumerate(windows):
            answer = by_id.get(str(n), {})
            fault = errors.parse_fault(answer)
            if fault is not None:
                fault.entity = fault.entity or window.spec.name
                raise fault
            pages.append((answer.get("QueryResponse") or {}).get(window.spec.name) or [])
        return pages, at

    def _complete(self, task: _First | Window, answer: tuple[list[list[dict]], str | None]) -> None:
        pages, at = answer
        if at:
            moment = parse_time(at)
            self.started = moment if self.started is None else min(self.started, moment)
        windows = task.windows if isinstance(task, _First) else [task]
        for window, rows in zip(windows, pages, strict=True):
            state = self._state[window.spec.name]
            state.asked -= 1
            if isinstance(task, _First):
                state.started = True
                state.windows.append(window)
            self._out.discard(id(window))
            window.advance(rows)
            if rows:
                alone = not isinstance(task, _First)
                state.pages.append((rows, alone))
                state.buffered += alone

    def _finished(self, state: _Entity) -> bool:
        return state.started and state.asked == 0 and all(w.done for w in state.windows)

    def _all_done(self) -> bool:
        return not self._firsts and all(self._finished(s) for s in self._state.values())

    def _now(self) -> datetime:
        server = self.client.last_server_time
        return parse_time(server) if server else datetime.now(UTC)


def _names(first: _First) -> list[str]:
    return [w.spec.name for w in first.windows]
