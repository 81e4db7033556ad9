"""Loads more than one job makes: QBO records fetched by id, and what pushes answered.

The webhook drain fetches the records events name; the batch push and the drain both land the push
outcomes the integration store holds (the gateway's real-time pushes among them) into the warehouse:
the push log, and the records as QBO answered them, so the next transform sees QBO as it now is.
Each load holds its pipeline's lock file (a realm's pipeline is the sync's too) and opens the warehouse
under its lock file only (a DuckDB file's; PostgreSQL needs none); a package the warehouse refuses is
set aside, never left to wedge the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.pipeline.pipeline import Pipeline

from pipelines.runtime.locks import pipeline_run
from pipelines.runtime.warehouse import (
    PUSH_DATASET,
    LoadFailed,
    Warehouse,
    WarehouseAccess,
    finish_pending,
    load,
    load_or_set_aside,
    loader_file_format,
    qbo_pipeline,
    qbo_pipeline_name,
    warehouse_pipeline,
    when_free,
)
from sources.quickbooks import quickbooks_docs, quickbooks_ids
from sources.quickbooks.client import QboClient

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

log = logging.getLogger("qbo.landing")


def run_locked(
    pipeline: Pipeline, data: Any, warehouse: Warehouse, load_lock: AbstractContextManager[Any] | None = None
) -> tuple[LoadInfo, LoadFailed | None]:
    """`pipeline.run(data)` in its steps, the warehouse opened under its lock only; the caller holds
    the pipeline's lock. Returns the load, and an earlier package set aside (logged), if any."""
    access = WarehouseAccess(warehouse, load_lock)
    earlier = finish_pending(pipeline, access)
    if earlier is not None:
        log.error("an earlier load failed and was set aside: %s", earlier)
    if pipeline.config.restore_from_destination:
        with access:
            when_free(pipeline.sync_destination)
    pipeline.extract(data, loader_file_format=loader_file_format(warehouse))

    def normalize_and_load() -> LoadInfo:
        pipeline.normalize()
        with access:
            return when_free(lambda: load(pipeline))

    return load_or_set_aside(pipeline, access, normalize_and_load), earlier


def fetch_records(
    client: QboClient,
    entity: str,
    ids: Sequence[str],
    *,
    warehouse: Warehouse,
    pipelines_dir: Path,
    deleted: Mapping[str, tuple[datetime | None, str | None]] | None = None,
    load_lock: AbstractContextManager[Any] | None = None,
) -> LoadInfo:
    """Load exactly these records into the warehouse (those QBO no longer has, as deleted); `deleted`
    are ids known gone (when, merged into what), marked without asking QBO."""
    with pipeline_run(pipelines_dir, qbo_pipeline_name(client.realm_id)):
        pipeline = qbo_pipeline(client.realm_id, warehouse, pipelines_dir)
        data = quickbooks_ids(client.realm_id, client, entity, ids, deleted=deleted)
        return run_locked(pipeline, data, warehouse, load_lock)[0]


PUSH_LOG_COLUMNS = (
    "id",
    "pushed_at",
    "tenant_id",
    "realm_id",
    "entity",
    "platform_id",
    "qbo_id",
    "sync_token",
    "operation",
    "request_id",
    "bid",
    "payload_hash",
    "outcome",
    "error",
)


def land_push_results(connector: Connector, load_lock: AbstractContextManager[Any] | None = None) -> int:
    """Copy push outcomes not yet in the warehouse there: the push log, and the records QBO answered.
    `load_lock` (a flow's writer slot) is taken around the warehouse steps only, after the pipeline's
    lock: holding it around the whole call would invert the order a sync takes them in."""
    settings, store = connector.settings, connector.store
    fresh = store.push_log.results(landed=False)
    if not fresh:
        return 0
    for realm_id in sorted({r["realm_id"] for r in fresh}):
        docs: dict[str, list[dict[str, Any]]] = {}
        for r in fresh:
            if r["realm_id"] == realm_id and r["outcome"] == "ok" and isinstance(r["doc"], dict):
                docs.setdefault(r["entity"], []).append(r["doc"])
        if docs:
            with pipeline_run(settings.pipelines_path, qbo_pipeline_name(realm_id)):
                qbo = qbo_pipeline(realm_id, settings.warehouse_target, settings.pipelines_path)
                data = quickbooks_docs(realm_id, docs)
                _, earlier = run_locked(qbo, data, settings.warehouse_target, load_lock)
            if earlier is not None:
                store.errors.record_dto(earlier.to_dto(), realm_id, None, "push")
    rows = [{k: r[k] for k in PUSH_LOG_COLUMNS} for r in fresh]
    push_log = dlt.resource(
        rows,
        name="push_log",
        primary_key="id",
        write_disposition="merge",
        columns={"error": {"data_type": "json"}},
    )
    with pipeline_run(settings.pipelines_path, "push_log"):
        where = settings.warehouse_target, settings.pipelines_path
        log_pipeline = warehouse_pipeline("push_log", *where, PUSH_DATASET)
        _, earlier = run_locked(log_pipeline, push_log, settings.warehouse_target, load_lock)
    if earlier is not None:
        store.errors.record_dto(earlier.to_dto(), None, None, "push")
    store.push_log.mark_landed([r["id"] for r in fresh])
    return len(fresh)
