"""The warehouse every loader writes to: one DuckDB file, dlt pipelines sized so memory stays flat.

DuckDB takes 80% of RAM by default and a merge into a million-row table uses it: the cap makes it
spill to disk instead. Its default load files are SQL INSERT statements, which it parses whole (a
million invoices do not fit in memory): parquet streams. dlt writes one file per table and step
unless told otherwise: rotating them keeps normalising and loading a million invoices to bounded
files; extracting one entity at a time and loading one job at a time keep only one entity's
pages and one merge in memory. The dlt settings are environment defaults, so a user can override them
the dlt way (EXTRACT__NEXT_ITEM_MODE, LOAD__WORKERS, ...).
(bench/sync_bench.py measures all three.)

Or a PostgreSQL database (a `postgresql://` URL where a path goes): dlt's `postgres` destination, the
same datasets as schemas, the same merges on (realm_id, id). PostgreSQL has many writers, so there is
no warehouse lock there: realms load side by side. Each pipeline merges through a staging schema of its
own (two realms' loads would otherwise truncate each other's staging rows), and a schema change is
made under an advisory lock (two first loads would both CREATE the same table).

Runs meet here. A step that opens the file takes `WarehouseAccess` (the caller's lock, then the
warehouse's lock file, see locks.py; nothing on PostgreSQL) and `when_free` waits, for a bounded time,
while a process outside those locks has it open; DuckDB's "Conflicting lock" is `WarehouseBusy` naming
that process, never dlt's "check your credentials". A package the warehouse refuses for good is set
aside (`abort_packages`, which also puts the pipeline's state back), so one bad value fails one run with
its cause (`LoadFailed`) and never every later one.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from importlib import import_module
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import dlt
import duckdb
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.pipeline import LoadInfo
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
from dlt.load.exceptions import LoadClientJobRetry
from dlt.normalize.exceptions import NormalizeJobFailed
from dlt.pipeline.pipeline import Pipeline

from pipelines.runtime.locks import POLL_SECONDS, LockBusy, hold, lock_wait_seconds, warehouse_lock_path
from pipelines.runtime.settled import forget

# re-exported: the loaders' one import of the warehouse
from pipelines.runtime.warehouse_target import (  # noqa: F401
    QBO_RAW_SCHEMA,
    Warehouse,
    WarehouseUnreachable,
    chain,
    is_postgres,
    qbo_pipeline_name,
    warehouse_label,
    warehouse_unreachable,
)
from sources.platform.errors import detail, error_dto

T = TypeVar("T")


def import_data_stacks() -> None:
    """pandas and pyarrow, imported whole on the calling thread before realms sync in threads: dlt's
    extract threads look them up in sys.modules, and one finding them half-imported by another fails
    the sync ("partially initialized module 'pyarrow'", "... 'pandas' has no attribute 'DataFrame'").
    One realm at a time needs neither up front: an idle `qbo sync` starts 0.2 s sooner without them."""
    for name in ("pandas", "pyarrow"):
        import_module(name)


log = logging.getLogger("qbo.warehouse")

DUCKDB_CONFIG = {"memory_limit": "256MB", "threads": 2, "preserve_insertion_order": False}
LOADER_FILE_FORMAT = "parquet"
QBO_DATASET = QBO_RAW_SCHEMA  # every realm's QBO records, one table per entity
PLATFORM_DATASET = "raw_platform"  # the platform's records, as its DTOs
PUSH_DATASET = "raw_push"  # the push log
DLT_LIMITS = {
    # one resource at a time (its page and buffers), not a page of every entity at once
    "EXTRACT__NEXT_ITEM_MODE": "fifo",
    # the extract step's writers read the sources' section: EXTRACT__DATA_WRITER__* is never read
    "SOURCES__DATA_WRITER__BUFFER_MAX_ITEMS": "1000",
    "SOURCES__DATA_WRITER__FILE_MAX_ITEMS": "100000",
    "NORMALIZE__DATA_WRITER__FILE_MAX_ITEMS": "100000",
    "NORMALIZE__DATA_WRITER__BUFFER_MAX_ITEMS": "2000",
    # the files between the steps live minutes on local disk: gzip was a twentieth of a full sync
    "SOURCES__DATA_WRITER__DISABLE_COMPRESSION": "true",
    "NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION": "true",
    # one load job at a time: DuckDB has one writer, and two merges would share its memory cap
    "LOAD__WORKERS": "1",
}


NORMALIZE_IN_PARALLEL = 20_000  # extracted rows from which a normalize process per core pays its start-up


def normalize_workers(rows: int) -> int:
    """dlt's normalize processes for `rows` extracted rows: one per core (at most 4) for a big extract.
    Normalising is pure Python that waits on nothing, a third of a medium company's first sync in one
    process (dlt hands each process whole tables' files, so the biggest table bounds the gain)."""
    return 1 if rows < NORMALIZE_IN_PARALLEL else max(1, min(os.cpu_count() or 1, 4))


def loader_file_format(warehouse: Warehouse) -> Any:
    """Parquet streams into DuckDB; PostgreSQL takes INSERTs (its parquet loads need the ADBC driver)."""
    return "insert_values" if is_postgres(warehouse) else LOADER_FILE_FORMAT


def warehouse_destination(warehouse: Warehouse, pipeline_name: str | None = None) -> Any:
    """dlt's destination for the warehouse. On PostgreSQL a pipeline's merges go through a staging schema
    of its own (`<dataset>_staging_<pipeline>`): loads of several realms run at once there."""
    if is_postgres(warehouse):
        assert isinstance(warehouse, str)
        credentials = PostgresCredentials("postgresql://" + warehouse.split("://", 1)[1])
        credentials.password = credentials.password or ""  # trust or .pgpass: dlt asks for one otherwise
        credentials.resolve()
        layout = f"%s_staging_{pipeline_name}" if pipeline_name else "%s_staging"
        return dlt.destinations.postgres(credentials=credentials, staging_dataset_name_layout=layout)
    path = Path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    return dlt.destinations.duckdb({"database": str(path), "global_config": dict(DUCKDB_CONFIG)})


def warehouse_pipeline(name: str, warehouse: Warehouse, pipelines_dir: Path, dataset: str) -> Pipeline:
    """A dlt pipeline into `dataset` of the warehouse, its state kept under `pipelines_dir`."""
    for key, value in DLT_LIMITS.items():
        os.environ.setdefault(key, value)
    return dlt.pipeline(
        pipeline_name=name,
        destination=warehouse_destination(warehouse, name),
        dataset_name=dataset,
        pipelines_dir=str(pipelines_dir),
        progress="log" if logging.getLogger("qbo").isEnabledFor(logging.INFO) else None,
    )


SCHEMA_LOCK = 7_151_161  # the advisory lock a schema change is made under on PostgreSQL


def on_postgres(pipeline: Pipeline) -> bool:
    return "postgres" in str(getattr(pipeline.destination, "destination_type", ""))


def load(pipeline: Pipeline) -> LoadInfo:
    """`pipeline.load()`. On PostgreSQL the tables the packages need are made first, under an advisory
    lock: realms load at once there, and two first loads would both CREATE (or ALTER) the same table."""
    if not pipeline.list_normalized_load_packages():
        return pipeline.load()
    if not on_postgres(pipeline):
        return _load_on_one_connection(pipeline)
    with pipeline.sql_client() as sql:
        sql.execute_sql("SELECT pg_advisory_lock(%s)", SCHEMA_LOCK)
        try:
            pipeline.sync_schema()
        finally:
            sql.execute_sql("SELECT pg_advisory_unlock(%s)", SCHEMA_LOCK)
    return pipeline.load()


def _load_on_one_connection(pipeline: Pipeline) -> LoadInfo:
    """dlt opens and closes the DuckDB file for every load job, about 60 ms each: 95 jobs make 6 of a
    demo sync's 16 s. Handed an open connection, its jobs take cursors of it instead. The connection is
    this load's only: the pipeline's own credentials are put back after it."""
    params = pipeline.destination.config_params
    configured = params.get("credentials")
    database = configured.get("database") if isinstance(configured, dict) else None
    if database is None:  # a destination made elsewhere (a test's): dlt's own way
        return pipeline.load()
    connection = duckdb.connect(database, config={k: str(v) for k, v in DUCKDB_CONFIG.items()})
    try:
        return pipeline.load(credentials=connection)
    finally:
        params["credentials"] = configured
        connection.close()


def qbo_pipeline(realm_id: str, warehouse: Warehouse, pipelines_dir: Path) -> Pipeline:
    """The realm's pipeline, opened to be run: the realm is no longer settled (settled.py) until a sync
    leaves it so again. Callers hold its `pipeline_run` lock."""
    forget(pipelines_dir, realm_id)
    return warehouse_pipeline(qbo_pipeline_name(realm_id), warehouse, pipelines_dir, QBO_DATASET)


def finish_pending(pipeline: Pipeline, load_lock: AbstractContextManager[Any]) -> LoadFailed | None:
    """Normalise and load what a killed run left behind, so its checkpoint lands before a new one.

    A package the warehouse refuses (or that cannot be normalised) would fail every later run of the
    pipeline: it is set aside instead, and returned so the caller reports it."""
    if not pipeline.has_pending_data:
        return None
    log.warning("pipeline %s: finishing an interrupted load first", pipeline.pipeline_name)
    try:
        if pipeline.list_extracted_load_packages():
            pipeline.normalize()
        if pipeline.list_normalized_load_packages():
            with load_lock:
                when_free(lambda: load(pipeline))
    except Exception as exc:
        failure = load_failure(exc, pipeline.pipeline_name)
        if failure is None:
            raise
        set_aside(pipeline, load_lock, failure)
        return failure
    return None


def load_or_set_aside(pipeline: Pipeline, load_lock: AbstractContextManager[Any], step: Callable[[], T]) -> T:
    """Run `step` (normalise, load or both); a package it fails for good is set aside and raised as
    `LoadFailed`, so the next run starts clean. A busy or unreachable warehouse keeps the package."""
    try:
        return step()
    except Exception as exc:
        failure = load_failure(exc, pipeline.pipeline_name)
        if failure is None:
            raise
        set_aside(pipeline, load_lock, failure)
        raise failure from exc


class LoadFailed(RuntimeError):
    """A load package the warehouse refused (or dlt could not normalise): which table, and why."""

    code = "LOAD_FAILED"

    def __init__(self, pipeline: str, load_id: str | None, table: str | None, reason: str) -> None:
        where = f"table {table}" if table else "a table"
        super().__init__(
            f"pipeline {pipeline}: load package {load_id or '?'} failed at {where}: {reason}. The package "
            "was set aside and the checkpoint kept, so the next run reads these records again; if it "
            "fails the same way, the value named here is what the warehouse refuses"
        )
        self.pipeline, self.load_id, self.table, self.reason = pipeline, load_id, table, reason

    def to_dto(self) -> dict[str, Any]:
        return error_dto(self.code, str(self), [detail(self.table, "refused", self.reason)])


_EXCEPTION_PREFIX = re.compile(r"^(?:[\w.]+\.)?\w*(?:Exception|Error): ")


def _reason(message: str) -> str:
    """The sentence that says why (dlt keeps a job's whole traceback): the first line of the last
    exception's message, without the exception's name."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    raised = [line for line in lines if _EXCEPTION_PREFIX.match(line)]
    first = raised[-1] if raised else (lines[0] if lines else message)
    return _EXCEPTION_PREFIX.sub("", first, count=1)[:1000]


def load_failure(exc: BaseException, pipeline: str) -> LoadFailed | None:
    """`exc` as a `LoadFailed` when it comes down to a job that no retry fixes; else None (a source's
    error, a busy or unreachable warehouse: the package, if any, stays for the next run)."""
    if warehouse_busy(exc) is not None or warehouse_unreachable(exc) is not None:
        return None
    for inner in chain(exc):
        if isinstance(inner, LoadFailed):
            return inner
        retry_left = getattr(inner, "retry_count", 0) < getattr(inner, "max_retry_count", 0)
        terminal = isinstance(inner, NormalizeJobFailed | DestinationTerminalException) or (
            isinstance(inner, LoadClientJobRetry) and not retry_left
        )
        if not terminal:
            continue
        job_id = getattr(inner, "job_id", None)
        table = job_id.split(".")[0] if job_id else getattr(inner, "table_name", None)
        message = getattr(inner, "failed_message", None) or str(inner)
        return LoadFailed(pipeline, getattr(inner, "load_id", None), table, _reason(message))
    return None


def set_aside(pipeline: Pipeline, load_lock: AbstractContextManager[Any], failure: LoadFailed) -> None:
    """Abort the pending packages (dlt moves their jobs to failed_jobs, keeping the files) and put the
    pipeline's state back where the failed package started, so nothing is marked read that was not
    loaded."""
    log.error("%s", failure)
    with load_lock:
        when_free(pipeline.abort_packages)


class WarehouseBusy(RuntimeError):
    """Another process has the DuckDB file open (DuckDB lets one in at a time): not a credentials
    problem, whatever dlt's connection error says."""

    code = "WAREHOUSE_BUSY"

    def __init__(self, warehouse: str, holder: str, waited: float = 0.0) -> None:
        super().__init__(
            f"the warehouse {warehouse} is busy: {holder} has it open (DuckDB lets one process in at a "
            f"time); waited {waited:.0f} s. Let it finish (or close it) and run again"
        )
        self.warehouse, self.holder, self.waited = warehouse, holder, waited

    def to_dto(self) -> dict[str, Any]:
        return error_dto(self.code, str(self), [detail("warehouse", "busy", self.warehouse)])


_DUCKDB_LOCK = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)"'
    r"(?:: Conflicting lock is held in (?P<cmd>.+?) \(PID (?P<pid>\d+)\))?"
)


def warehouse_busy(exc: BaseException, waited: float = 0.0) -> WarehouseBusy | None:
    """The DuckDB file lock another process holds, if that is what `exc` comes down to."""
    for inner in chain(exc):
        if isinstance(inner, WarehouseBusy):
            return inner
        found = _DUCKDB_LOCK.search(str(inner))
        if found:
            holder = f"pid {found['pid']} ({found['cmd']})" if found["pid"] else "another process"
            return WarehouseBusy(found["file"], holder, waited)
    return None


def root_cause(exc: BaseException) -> BaseException:
    """dlt wraps what a source raised in PipelineStepFailed; the typed QBO error is underneath. A busy
    DuckDB file is named as such (dlt calls it a connection error and suggests the credentials)."""
    busy = warehouse_busy(exc) or warehouse_unreachable(exc)
    if busy is not None:
        return busy
    seen = exc
    while True:
        if isinstance(seen, LoadFailed | LockBusy):  # already says what happened and what to do
            return seen
        inner = getattr(seen, "exception", None) or seen.__cause__
        if inner is None or inner is seen:
            return seen
        seen = inner


def when_free(step: Callable[[], T], wait: float | None = None) -> T:
    """Run a step that opens the warehouse, again while another process (a `duckdb` shell, a dbt
    build) has the file open, for up to `wait` seconds; then `WarehouseBusy` names that process. A
    step that failed to open the file changed nothing, so running it again is safe."""
    budget = lock_wait_seconds() if wait is None else wait
    started = time.monotonic()
    while True:
        try:
            return step()
        except Exception as exc:
            waited = time.monotonic() - started
            busy = warehouse_busy(exc, waited)
            if busy is None:
                raise
            if waited >= budget:
                raise busy from exc
            log.info("%s; trying again", busy)
            time.sleep(min(POLL_SECONDS * 5, max(0.0, budget - waited)))


class WarehouseAccess:
    """What a step that opens the warehouse takes: the caller's `load_lock` (this process's threads,
    Prefect's writer slot), then the warehouse's lock file, which every `qbo` process honours. Reusable;
    one per run, entered around each step. Both exist because DuckDB has one writer: on PostgreSQL it
    takes neither, and a failed connection is `WarehouseUnreachable` naming host and database."""

    def __init__(self, warehouse: Warehouse, load_lock: AbstractContextManager[Any] | None = None) -> None:
        self.warehouse = warehouse
        self.load_lock = load_lock
        self.postgres = is_postgres(warehouse)
        self._held = threading.local()

    def __enter__(self) -> WarehouseAccess:
        stack = ExitStack()
        if self.postgres:
            self._stacks().append(stack)
            return self
        path = Path(self.warehouse)
        try:
            if self.load_lock is not None:
                stack.enter_context(self.load_lock)
            stack.enter_context(hold(warehouse_lock_path(path), f"warehouse {path}"))
        except BaseException:
            stack.close()
            raise
        self._stacks().append(stack)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stacks().pop().__exit__(exc_type, exc, tb)
        url = str(self.warehouse)
        unreachable = warehouse_unreachable(exc, url) if self.postgres and exc is not None else None
        if unreachable is not None and unreachable is not exc:
            raise unreachable from exc

    def _stacks(self) -> list[ExitStack]:
        if not hasattr(self._held, "stacks"):
            self._held.stacks = []
        stacks: list[ExitStack] = self._held.stacks
        return stacks
