"""The warehouse's one writer at a time (DESIGN decision 10), in a process and across processes.

DuckDB lets one process open the file for writing, and no other process open it at all meanwhile; in a
process, concurrent writers conflict. So whatever opens the warehouse takes `WAREHOUSE_WRITER`: a
thread lock among this process's threads first (so only one thread asks the server), then, inside a
Prefect run, a slot of the global concurrency limit `qbo-warehouse-writer` (limit 1) that every flow
run of every process shares. The limit is created by `ensure_concurrency_limits`, which the serve
entry point and every flow call; it is strict, so a missing limit fails instead of being skipped.
The sync jobs take, inside this, the warehouse's lock file (pipelines/runtime/locks.py), which also
orders `qbo` commands run outside Prefect; take this first and the lock file second, never the reverse.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager, ExitStack, nullcontext
from types import TracebackType
from typing import Any

from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext, TaskRunContext
from prefect.exceptions import ObjectNotFound

from pipelines.runtime.settings import Settings

log = logging.getLogger("qbo.flows")

WRITER_LIMIT = "qbo-warehouse-writer"
GLOBAL_LIMITS: Mapping[str, int] = {WRITER_LIMIT: 1}


def ensure_concurrency_limits(limits: Mapping[str, int] = GLOBAL_LIMITS) -> dict[str, str]:
    """Create the global concurrency limits the flows rely on, or set them back to their declared
    size and active: a writer limit of 2, or an inactive one, would let two writers at DuckDB.
    Returns what was done per limit: created, updated or ok."""
    done: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for name, limit in limits.items():
            try:
                current = client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
                done[name] = "created"
                continue
            if current.limit != limit or not current.active:
                client.update_global_concurrency_limit(
                    name, GlobalConcurrencyLimitUpdate(limit=limit, active=True)
                )
                done[name] = "updated"
            else:
                done[name] = "ok"
    for name, what in done.items():
        if what != "ok":
            log.info("global concurrency limit %s (%d): %s", name, limits[name], what)
    return done


def in_prefect_run() -> bool:
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


class WarehouseWriter:
    """A reusable, non-reentrant context manager: the process's thread lock, then (in a Prefect run)
    the global limit's slot. The lease is renewed while held; a holder that dies frees it when the
    lease runs out. A failed renewal does not abort a load half-way: DuckDB's own file lock still
    refuses a second writer."""

    def __init__(self, limit: str = WRITER_LIMIT) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._held: ExitStack | None = None

    def __enter__(self) -> WarehouseWriter:
        self._lock.acquire()
        stack = ExitStack()
        try:
            if in_prefect_run():
                stack.enter_context(
                    concurrency(self.limit, occupy=1, strict=True, raise_on_lease_renewal_failure=False)
                )
        except BaseException:
            stack.close()
            self._lock.release()
            raise
        self._held = stack  # safe: only the lock holder gets here
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        held, self._held = self._held, None
        try:
            if held is not None:
                held.__exit__(exc_type, exc, traceback)
        finally:
            self._lock.release()


WAREHOUSE_WRITER = WarehouseWriter()
"""The one per process: every flow's access to a DuckDB warehouse goes through it."""
NO_WRITER_LOCK: AbstractContextManager[Any] = nullcontext()


def warehouse_writer(settings: Settings) -> AbstractContextManager[Any]:
    """The lock follows the warehouse, not the flow: the writer slot for a DuckDB file (one writer);
    nothing for PostgreSQL, whose writers load side by side (a transform there waits only for another
    transform, under an advisory lock of its own: pipelines/runtime/warehouse_sql.py)."""
    return NO_WRITER_LOCK if settings.warehouse_url else WAREHOUSE_WRITER
