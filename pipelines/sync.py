"""Syncing realms into the warehouse: one dlt pipeline per realm, one dataset for all of them.

Each realm has its own pipeline (so its own state and checkpoint) writing into the shared `raw_qbo`
dataset. DuckDB has a single writer (DESIGN decision 10): realms may extract and normalise side by
side, but whatever opens the warehouse (a load, the state restored from it, the ids a re-scan compares)
takes the caller's `load_lock`; without one, realms run one after the other. A PostgreSQL warehouse
(a URL for `warehouse`) has many writers: there realms load side by side (runtime/warehouse.py). A load
interrupted earlier is finished before new data is extracted (STACK_NOTES §7.6).

Other processes are ordered by lock files (runtime/locks.py): one run per realm at a time (dlt's working
directory is the realm's), one process in a DuckDB warehouse at a time; each waits a bounded time, then
says who holds it. A package the warehouse refuses is set aside with the realm's checkpoint put back,
and reported: it never wedges the realm's next runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlt.common.pipeline import LoadInfo
from dlt.pipeline.pipeline import Pipeline

from pipelines.runtime.locks import LockBusy, pipeline_run
from pipelines.runtime.progress import Progress, dlt_collector, progress_of
from pipelines.runtime.warehouse import (
    LoadFailed,
    Warehouse,
    WarehouseAccess,
    WarehouseBusy,
    finish_pending,
    load,
    load_or_set_aside,
    loader_file_format,
    normalize_workers,
    qbo_pipeline,
    qbo_pipeline_name,
    root_cause,
    when_free,
)
from sources.quickbooks import quickbooks, table_name
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.client import QboClient
from sources.quickbooks.extract import DELETED
from sources.quickbooks.settings import MAX_IN_FLIGHT
from sources.quickbooks.source import AS_TABLES

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

log = logging.getLogger("qbo.sync")


@dataclass
class SyncResult:
    realm_id: str
    rows: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)
    load_info: LoadInfo | None = None
    set_aside: list[LoadFailed] = field(default_factory=list)  # earlier packages the warehouse refused
    normalize_workers: int = 1  # processes dlt normalised the rows in


def live_ids(pipeline: Pipeline, realm_id: str, entity: str) -> set[str]:
    """Ids of `entity` the warehouse holds as live for the realm (empty before the first load).

    A pipeline that never extracted has no schema yet (a full refresh of a warehouse never synced):
    it holds nothing, so a re-scan of it is a first sync, not a dlt `SchemaNotFoundError`.
    """
    table = table_name(entity)
    if pipeline.first_run or pipeline.default_schema_name is None:
        return set()
    if table not in pipeline.default_schema.tables:
        return set()
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql(
            f"SELECT id FROM {sql.make_qualified_table_name(table)} "
            f"WHERE realm_id = %s AND NOT COALESCE({DELETED}, false)",
            realm_id,
        )
    return {row[0] for row in rows or []}


def sync_realm(
    client: QboClient,
    *,
    warehouse: Warehouse,
    pipelines_dir: Path,
    entities: Sequence[str] | None = None,
    full_refresh: bool = False,
    echo: Callable[[str], None] | None = None,
    load_lock: AbstractContextManager[Any] | None = None,
    workers: int = MAX_IN_FLIGHT,
) -> SyncResult:
    """Extract and load one realm; returns rows per entity and what it cost in HTTP requests. A full
    scan keeps `workers` requests in flight (within the realm's budget); 1 reads page by page.

    This is `pipeline.run` in its steps, so that only the steps that open the warehouse take
    `load_lock` (and the warehouse's lock file) and other realms can extract meanwhile. The whole run
    holds the realm's lock file: a second run of the realm waits for it, or says who holds it.
    """
    realm_id = client.realm_id
    access = WarehouseAccess(warehouse, load_lock)
    with pipeline_run(pipelines_dir, qbo_pipeline_name(realm_id)):
        pipeline = qbo_pipeline(realm_id, warehouse, pipelines_dir)
        earlier = finish_pending(pipeline, access)
        if pipeline.config.restore_from_destination:  # as `run` does: local state lost -> the warehouse's
            with access:
                when_free(pipeline.sync_destination)

        def existing_ids(entity: str) -> set[str]:
            with access:
                return when_free(lambda: live_ids(pipeline, realm_id, entity))

        before = client.stats.requests, client.stats.retries
        bar = progress_of(echo)
        if isinstance(echo, Progress):  # the command line's: each step as it starts, entities, load jobs
            pipeline.collector = dlt_collector(bar, f"realm {realm_id}")
        report: dict[str, Any] = {}
        source = quickbooks(
            realm_id,
            client,
            entities,
            full_refresh,
            existing_ids=existing_ids,
            report=report,
            progress=lambda entity, read, done: bar.advance(
                f"realm {realm_id}: {entity}", completed=read, unit="rows", done=done
            ),
            workers=workers,
            columnar=loader_file_format(warehouse) == "parquet",
        )
        try:
            pipeline.extract(source, loader_file_format=loader_file_format(warehouse))
        finally:
            if "run" in report:
                report["run"].close()

        processes = normalize_workers(rows_to_normalise(report))

        def normalize_and_load() -> LoadInfo:
            pipeline.normalize(workers=processes)
            with access:
                return when_free(lambda: load(pipeline))

        info = load_or_set_aside(pipeline, access, normalize_and_load)
    run = report.get("run")
    rows = extracted_rows(report)
    notes = list(run.notes) if run else []
    aside = [earlier] if earlier else []
    notes += [f"an earlier load failed and was set aside: {failure}" for failure in aside]
    requests, retries = client.stats.requests - before[0], client.stats.retries - before[1]
    return SyncResult(realm_id, rows, requests, retries, notes, info, aside, processes)


def extracted_rows(report: dict[str, Any]) -> dict[str, int]:
    """Rows per entity the source's run extracted (its other counts, `entity:deleted` and the like, aside)."""
    run = report.get("run")
    return {e: n for e, n in (run.counts if run else {}).items() if ":" not in e}


def rows_to_normalise(report: dict[str, Any]) -> int:
    """Rows dlt normalises one by one: those extracted, less those that went as Arrow tables (dlt
    moves their files as they are)."""
    run = report.get("run")
    as_tables = sum(n for k, n in (run.counts if run else {}).items() if k.endswith(f":{AS_TABLES}"))
    return sum(extracted_rows(report).values()) - as_tables


def entity_of(table: str | None) -> str | None:
    """The catalog entity a warehouse table (or its child table) holds, for the error's record."""
    if not table:
        return None
    root = table.split("__")[0]
    return next((e for e in ENTITIES if table_name(e) == root), None)


def record_failure(connector: Connector, realm_id: str, cause: BaseException) -> None:
    """Into the errors table: the connector's own refusals as their error DTO, the rest as they are."""
    to_dto = getattr(cause, "to_dto", None)
    if isinstance(cause, LoadFailed | WarehouseBusy | LockBusy) and to_dto is not None:
        entity = entity_of(cause.table) if isinstance(cause, LoadFailed) else None
        connector.store.errors.record_dto(to_dto(), realm_id, entity, "sync")
    else:
        connector.store.errors.record(cause, realm_id, getattr(cause, "entity", None), operation="sync")


def sync_connected_realm(
    connector: Connector,
    realm_id: str,
    entities: Sequence[str] | None = None,
    full_refresh: bool = False,
    echo: Callable[[str], None] = print,
    load_lock: AbstractContextManager[Any] | None = None,
) -> SyncResult:
    """Sync one connected realm and keep the run on record (`qbo status` reads it); a failure is
    recorded with its typed cause, then raised, so a scheduler can retry it."""
    started = datetime.now(UTC)
    progress_of(echo).say(f"realm {realm_id}: syncing ...")
    try:
        result = sync_realm(
            connector.client(realm_id),
            warehouse=connector.settings.warehouse_target,
            pipelines_dir=connector.settings.pipelines_path,
            entities=entities,
            full_refresh=full_refresh,
            echo=echo,
            load_lock=load_lock,
        )
    except Exception as exc:
        cause = root_cause(exc)
        record_failure(connector, realm_id, cause)
        connector.store.runs.record(realm_id, "sync", started, "failed", {}, None, [str(cause)])
        echo(f"realm {realm_id}: FAILED: {cause}")
        raise
    for failure in result.set_aside:
        record_failure(connector, realm_id, failure)
    connector.store.runs.record(realm_id, "sync", started, "ok", result.rows, result.requests, result.notes)
    for note in result.notes:
        echo(f"realm {realm_id}: {note}")
    echo(
        f"realm {realm_id}: {sum(result.rows.values()):,} rows in {result.requests} requests "
        f"({result.retries} retried)"
    )
    return result


def sync_all(
    connector: Connector,
    realm_ids: list[str] | None = None,
    entities: Sequence[str] | None = None,
    full_refresh: bool = False,
    echo: Callable[[str], None] = print,
    load_lock: AbstractContextManager[Any] | None = None,
) -> list[SyncResult]:
    """Every connected realm (or those asked for), one after the other; one realm's failure is
    recorded and reported, and the others still run. Raises at the end if any realm failed."""
    results, failed = [], []
    if not realm_ids:  # the ones left out are said, not skipped in silence
        for record in connector.connections():
            if record.needs_reconnect:
                echo(f"realm {record.realm_id}: skipped: {record.status_reason or 'it needs reconnecting'}")
    for realm_id in connector.realms(realm_ids):
        try:
            results.append(sync_connected_realm(connector, realm_id, entities, full_refresh, echo, load_lock))
        except Exception:  # recorded and echoed; the other realms still run
            failed.append(realm_id)
    if failed:
        raise SyncFailed(failed)
    return results


class SyncFailed(RuntimeError):
    def __init__(self, realms: list[str]) -> None:
        super().__init__(f"sync failed for realm(s) {', '.join(realms)}; see `qbo status` for the errors")
        self.realms = realms


def run_sync_requests(
    connector: Connector,
    echo: Callable[[str], None] = print,
    load_lock: AbstractContextManager[Any] | None = None,
) -> int:
    """Syncs asked for through the gateway, run here so the web service never writes the warehouse."""
    queue = connector.store.events
    done = 0
    for request in queue.pending_syncs():
        realm_id, entities = request["realm_id"], request["entities"]
        try:
            (result,) = sync_all(connector, [realm_id], entities, echo=echo, load_lock=load_lock)
        except (SyncFailed, LookupError) as exc:
            queue.finish_sync(request["id"], "failed", str(exc))
            continue
        queue.finish_sync(
            request["id"], "ok", f"{sum(result.rows.values())} rows in {result.requests} requests"
        )
        done += 1
    return done
