"""Landing a push's outcomes behind the batch calls that wait, instead of all of it after the last one.

A push longer than the realm's batch allowance (40 calls a minute) spends most of its time with a
call waiting for room in the budget: the answers already on record could be landed meanwhile. The
landing left after the last call (the warehouse's push log and the records as QBO answered them, the
decisions those answers make final) was a tenth of a 2,400-record push on an idle machine and more
on a busy one; landed behind the waits, only the last calls' outcomes are left for the end.

A request of the push that has waited `after` seconds for room in the budget starts one landing,
on a thread of its own (never two at once); the request goes out when the budget lets it, landing
or not. Only a wait for the budget counts, not a slow answer: on a busy machine a slow answer is
followed by the next call at once, and a landing then would only compete with it for the CPU.
Nothing changes in what is recorded or when: the sink still puts each batch's outcomes on record
before dlt counts the batch done, and `push_all` still lands what is left (and anything a failed
landing here left) at the end, as before.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from pipelines.runtime.landing import land_push_results

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector
    from sources.quickbooks.client import Budget

log = logging.getLogger("qbo.push")

Key = tuple[str, str, str]  # (entity, tenant, platform id)
AFTER = 2.0  # seconds of waiting for the budget before a landing starts: a minute's end, not a blip


class LandBehind:
    """`push_all`'s, for every realm: lands behind calls that wait, remembers what it made final."""

    def __init__(
        self,
        connector: Connector,
        load_lock: AbstractContextManager[Any] | None = None,
        after: float = AFTER,
    ) -> None:
        self.connector, self.load_lock, self.after = connector, load_lock, after
        self.marked: set[Key] = set()  # keys whose decisions a landing here made final
        self.landings = 0  # landings done here (what the tests and benches read)
        self._busy = threading.Lock()  # held by the one landing under way
        # the caller's context (a Prefect run's among it): the writer slot is taken as the caller would
        self._context = contextvars.copy_context()
        self._closed = False

    def watch(self, budget: Budget) -> Budget:
        """`budget` as the push's client is to use it: a wait for room starts a landing behind it."""
        return _Watched(budget, self._land, self.after)

    def close(self) -> None:
        """No landing after this one returns; a landing under way is waited for (it holds the
        warehouse, which the final landing opens next)."""
        self._closed = True
        with self._busy:
            pass

    def _land(self) -> None:
        if not self._busy.acquire(blocking=False):
            return  # one landing at a time: the next wait lands what this one did not
        try:
            if self._closed:
                return
            self._context.copy().run(self._land_now)
        except Exception as exc:  # the final landing retries these rows and reports its own failure
            log.warning("landing behind the push failed (landed at the end instead): %s", exc)
        finally:
            self._busy.release()

    def _land_now(self) -> None:
        """As `push_all` ends a push: the decisions behind what QBO took become final, then the rows land."""
        store = self.connector.store
        sent = store.push_log.results(landed=False)
        keys = {(r["entity"], r["tenant_id"], r["platform_id"]) for r in sent if r["outcome"] == "ok"}
        store.review.mark_pushed(keys)
        self.marked |= keys
        land_push_results(self.connector, self.load_lock)
        self.landings += 1


class _Watched:
    """A request budget that calls `waiting` once a request has waited `after` seconds for a slot."""

    def __init__(self, budget: Budget, waiting: Callable[[], None], after: float) -> None:
        self.budget, self.waiting, self.after = budget, waiting, after

    @contextmanager
    def slot(self, *, batch: bool = False) -> Iterator[None]:
        timer = threading.Timer(self.after, self.waiting)
        timer.daemon = True
        timer.start()
        try:
            with self.budget.slot(batch=batch):
                timer.cancel()  # room: the request goes out now
                yield
        finally:
            timer.cancel()
