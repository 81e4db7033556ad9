"""Syncing realms into the warehouse: one dlt pipeline per realm, one dataset for all of them.

Each realm has its own pipeline (so its own state and checkpoint) writing into the shared `raw_qbo`
dataset. DuckDB has a single writer (DESIGN decision 10): realms may extract and normalise side by
side, but whatever opens the warehouse (a load, the state restored from it, the ids a re-scan compares)
takes the caller's `load_lock`; without one, realms run one after the other. A load interrupted earlier
is finished before new data is extracted (STACK_NOTES §7.6).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlt.common.pipeline import LoadInfo
from dlt.pipeline.pipeline import Pipeline

from pipelines.warehouse import LOADER_FILE_FORMAT, warehouse_pipeline
from sources.quickbooks import quickbooks, quickbooks_ids, quickbooks_window, table_name
from sources.quickbooks.catalog import ENTITIES, Kind
from sources.quickbooks.client import QboClient
from sources.quickbooks.extract import DELETED, iso

if TYPE_CHECKING:
    from pipelines.connector import Connector

log = logging.getLogger("qbo.sync")

DATASET = "raw_qbo"


@dataclass
class SyncResult:
    realm_id: str
    rows: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)
    load_info: LoadInfo | None = None


def pipeline_for(realm_id: str, warehouse: Path, pipelines_dir: Path) -> Pipeline:
    return warehouse_pipeline(f"qbo_{realm_id}", warehouse, pipelines_dir, DATASET)


def live_ids(pipeline: Pipeline, realm_id: str, entity: str) -> set[str]:
    """Ids of `entity` the warehouse holds as live for the realm (empty before the first load)."""
    table = table_name(entity)
    if table not in pipeline.default_schema.tables or pipeline.first_run:
        return set()
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql(
            f"SELECT id FROM {sql.make_qualified_table_name(table)} "
            f"WHERE realm_id = %s AND NOT COALESCE({DELETED}, false)",
            realm_id,
        )
    return {row[0] for row in rows or []}


def finish_pending(pipeline: Pipeline, load_lock: AbstractContextManager[Any]) -> None:
    """Normalise and load what a killed run left behind, so its checkpoint lands before a new one."""
    if not pipeline.has_pending_data:
        return
    log.warning("pipeline %s: finishing an interrupted load first", pipeline.pipeline_name)
    if pipeline.list_extracted_load_packages():
        pipeline.normalize()
    if pipeline.list_normalized_load_packages():
        with load_lock:
            pipeline.load()


def sync_realm(
    client: QboClient,
    *,
    warehouse: Path,
    pipelines_dir: Path,
    entities: Sequence[str] | None = None,
    full_refresh: bool = False,
    echo: Callable[[str], None] | None = None,
    load_lock: AbstractContextManager[Any] | None = None,
) -> SyncResult:
    """Extract and load one realm; returns rows per entity and what it cost in HTTP requests.

    This is `pipeline.run` in its steps, so that only the steps that open the warehouse take
    `load_lock` and other realms can extract meanwhile.
    """
    realm_id = client.realm_id
    lock: AbstractContextManager[Any] = load_lock if load_lock is not None else nullcontext()
    pipeline = pipeline_for(realm_id, warehouse, pipelines_dir)
    finish_pending(pipeline, lock)
    if pipeline.config.restore_from_destination:  # as `run` does: local state lost -> the warehouse's
        with lock:
            pipeline.sync_destination()

    def existing_ids(entity: str) -> set[str]:
        with lock:
            return live_ids(pipeline, realm_id, entity)

    before = client.stats.requests, client.stats.retries
    report: dict[str, Any] = {}
    source = quickbooks(
        realm_id,
        client,
        entities,
        full_refresh,
        existing_ids=existing_ids,
        report=report,
        progress=(lambda line: echo(f"realm {realm_id}: {line}")) if echo else None,
    )
    pipeline.extract(source, loader_file_format=LOADER_FILE_FORMAT)
    pipeline.normalize()
    with lock:
        info = pipeline.load()
    run = report.get("run")
    rows = {e: n for e, n in (run.counts if run else {}).items() if ":" not in e}
    notes = list(run.notes) if run else []
    return SyncResult(
        realm_id, rows, client.stats.requests - before[0], client.stats.retries - before[1], notes, info
    )


def fetch_records(
    client: QboClient,
    entity: str,
    ids: Sequence[str],
    *,
    warehouse: Path,
    pipelines_dir: Path,
    deleted: Mapping[str, tuple[datetime | None, str | None]] | None = None,
) -> LoadInfo:
    """Load exactly these records into the warehouse (those QBO no longer has, as deleted); `deleted`
    are ids known gone (when, merged into what), marked without asking QBO."""
    pipeline = pipeline_for(client.realm_id, warehouse, pipelines_dir)
    if pipeline.has_pending_data:
        pipeline.load()
    return pipeline.run(
        quickbooks_ids(client.realm_id, client, entity, ids, deleted=deleted),
        loader_file_format=LOADER_FILE_FORMAT,
    )


def root_cause(exc: BaseException) -> BaseException:
    """dlt wraps what a source raised in PipelineStepFailed; the typed QBO error is underneath."""
    seen = exc
    while True:
        inner = getattr(seen, "exception", None) or seen.__cause__
        if inner is None or inner is seen:
            return seen
        seen = inner


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
    echo(f"realm {realm_id}: syncing ...")
    try:
        result = sync_realm(
            connector.client(realm_id),
            warehouse=connector.settings.warehouse,
            pipelines_dir=connector.settings.pipelines_path,
            entities=entities,
            full_refresh=full_refresh,
            echo=echo,
            load_lock=load_lock,
        )
    except Exception as exc:
        cause = root_cause(exc)
        connector.store.record_error(cause, realm_id, getattr(cause, "entity", None), operation="sync")
        connector.store.record_run(realm_id, "sync", started, "failed", {}, None, [str(cause)])
        echo(f"realm {realm_id}: FAILED: {cause}")
        raise
    connector.store.record_run(realm_id, "sync", started, "ok", result.rows, result.requests, result.notes)
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
) -> list[SyncResult]:
    """Every connected realm (or those asked for), one after the other; one realm's failure is
    recorded and reported, and the others still run. Raises at the end if any realm failed."""
    results, failed = [], []
    for realm_id in connector.realms(realm_ids):
        try:
            results.append(sync_connected_realm(connector, realm_id, entities, full_refresh, echo))
        except Exception:  # recorded and echoed; the other realms still run
            failed.append(realm_id)
    if failed:
        raise SyncFailed(failed)
    return results


class SyncFailed(RuntimeError):
    def __init__(self, realms: list[str]) -> None:
        super().__init__(f"sync failed for realm(s) {', '.join(realms)}; see `qbo status` for the errors")
        self.realms = realms


def backfill_realm(
    client: QboClient,
    since: datetime,
    until: datetime,
    *,
    warehouse: Path,
    pipelines_dir: Path,
    entities: Sequence[str] | None = None,
    window_days: int = 30,
    echo: Callable[[str], None] = print,
    load_lock: AbstractContextManager[Any] | None = None,
) -> dict[str, int]:
    """Reload [since, until) in windows; finished windows are remembered, so a re-run resumes.

    A pipeline of its own keeps the backfill's progress apart from the realm's live checkpoint.
    Extraction and normalisation may run beside other realms'; loading takes `load_lock`, because
    the warehouse has one writer.
    """
    realm_id = client.realm_id
    lock: AbstractContextManager[Any] = load_lock if load_lock is not None else nullcontext()
    pipeline = warehouse_pipeline(f"qbo_{realm_id}_backfill", warehouse, pipelines_dir, DATASET)
    finish_pending(pipeline, lock)
    selected = list(entities or [e for e in ENTITIES if ENTITIES[e].kind is not Kind.SINGLETON])
    done: set[str] = set(pipeline.state.get("_local", {}).get("backfill_windows", []))
    loaded: dict[str, int] = {}
    start = since
    while start < until:
        end = min(start + timedelta(days=window_days), until)
        key = f"{iso(start)}/{iso(end)}/{','.join(sorted(selected))}"
        if key in done:
            echo(f"realm {realm_id}: window {iso(start)} .. {iso(end)} already loaded, skipped")
        else:
            pipeline.extract(
                quickbooks_window(realm_id, client, selected, start, end),
                loader_file_format=LOADER_FILE_FORMAT,
            )
            counts = pipeline.normalize().row_counts
            with lock:
                pipeline.load()
            for table, count in counts.items():
                if not table.startswith("_dlt") and "__" not in table:
                    loaded[table] = loaded.get(table, 0) + count
            done.add(key)
            pipeline.set_local_state_val("backfill_windows", sorted(done))
            echo(f"realm {realm_id}: window {iso(start)} .. {iso(end)} loaded, {sum(counts.values()):,} rows")
        start = end
    return loaded


def backfill_all(
    connector: Connector,
    realm_ids: list[str],
    since: datetime,
    until: datetime,
    entities: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
    parallel: int = 4,
    load_lock: AbstractContextManager[Any] | None = None,
) -> dict[str, dict[str, int]]:
    """Backfill several realms at once: each realm in its own thread, loads one at a time (under
    `load_lock` when the caller shares the warehouse with other writers)."""
    lock: AbstractContextManager[Any] = load_lock if load_lock is not None else threading.Lock()
    realms = connector.realms(realm_ids)
    clients = {realm_id: connector.client(realm_id) for realm_id in realms}
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(realms)))) as pool:
        futures = {  # each thread in a copy of this context: a scheduler's run context goes along
            realm_id: pool.submit(
                contextvars.copy_context().run,
                backfill_realm,
                clients[realm_id],
                since,
                until,
                warehouse=connector.settings.warehouse,
                pipelines_dir=connector.settings.pipelines_path,
                entities=entities,
                echo=echo,
                load_lock=lock,
            )
            for realm_id in realms
        }
        return {realm_id: future.result() for realm_id, future in futures.items()}
