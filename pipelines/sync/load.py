"""A realm's sync through dlt: extract, normalise, load; the realm left settled when it all landed.

This is `pipeline.run` in its steps, so that only the steps that open the warehouse take the caller's
`load_lock` (and the warehouse's lock file) and other realms can extract meanwhile. dlt loads here
only: an idle sync never imports this module (settled.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from dlt.common.pipeline import LoadInfo
from dlt.pipeline.pipeline import Pipeline

from pipelines.runtime import settled
from pipelines.runtime.progress import Progress, dlt_collector, progress_of
from pipelines.runtime.warehouse import (
    Warehouse,
    WarehouseAccess,
    finish_pending,
    load,
    load_or_set_aside,
    loader_file_format,
    normalize_workers,
    qbo_pipeline,
    when_free,
)
from pipelines.sync import SyncResult, extracted_rows
from sources.quickbooks import quickbooks, table_name
from sources.quickbooks.client import QboClient
from sources.quickbooks.cursor import parse_time
from sources.quickbooks.extract import DELETED, Extraction
from sources.quickbooks.source import AS_TABLES


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


def load_realm(
    client: QboClient,
    *,
    warehouse: Warehouse,
    pipelines_dir: Path,
    entities: Sequence[str] | None,
    full_refresh: bool,
    echo: Callable[[str], None] | None,
    load_lock: AbstractContextManager[Any] | None,
    workers: int,
    begun: Extraction | None = None,
) -> SyncResult:
    """`sync.sync_realm`'s run through dlt; the caller holds the realm's lock and counts the requests."""
    realm_id = client.realm_id
    access = WarehouseAccess(warehouse, load_lock)
    pipeline = qbo_pipeline(realm_id, warehouse, pipelines_dir)
    earlier = finish_pending(pipeline, access)
    if pipeline.config.restore_from_destination:  # as `run` does: local state lost -> the warehouse's
        with access:
            when_free(pipeline.sync_destination)

    def existing_ids(entity: str) -> set[str]:
        with access:
            return when_free(lambda: live_ids(pipeline, realm_id, entity))

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
        begun=begun,
    )
    try:
        pipeline.extract(source, loader_file_format=loader_file_format(warehouse))
    finally:
        if "run" in report:
            report["run"].close()
    run: Extraction | None = report.get("run")
    processes = normalize_workers(rows_to_normalise(run))

    def normalize_and_load() -> LoadInfo:
        pipeline.normalize(workers=processes)
        with access:
            return when_free(lambda: load(pipeline))

    info = load_or_set_aside(pipeline, access, normalize_and_load)
    if not pipeline.has_pending_data:
        saved = pipeline.state.get("sources", {}).get("quickbooks", {}).get("entities", {})
        checkpoints = {e: parse_time(s["checkpoint"]) for e, s in saved.items() if s.get("checkpoint")}
        settled.record(pipelines_dir, realm_id, warehouse, checkpoints, run.changes if run else None)
    notes = list(run.notes) if run else []
    aside = [earlier] if earlier else []
    notes += [f"an earlier load failed and was set aside: {failure}" for failure in aside]
    return SyncResult(
        realm_id,
        extracted_rows(run),
        notes=notes,
        load_info=info,
        set_aside=aside,
        normalize_workers=processes,
    )


def rows_to_normalise(run: Extraction | None) -> int:
    """Rows dlt normalises one by one: those extracted, less those that went as Arrow tables (dlt
    moves their files as they are)."""
    as_tables = sum(n for k, n in (run.counts if run else {}).items() if k.endswith(f":{AS_TABLES}"))
    return sum(extracted_rows(run).values()) - as_tables
