"""Loads more than one job makes: QBO records fetched by id, and what pushes answered.

The webhook drain fetches the records events name; the batch push and the drain both land the push
outcomes the integration store holds (the gateway's real-time pushes among them) into the warehouse:
the push log, and the records as QBO answered them, so the next transform sees QBO as it now is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dlt
from dlt.common.pipeline import LoadInfo

from pipelines.runtime.warehouse import LOADER_FILE_FORMAT, PUSH_DATASET, qbo_pipeline, warehouse_pipeline
from sources.quickbooks import quickbooks_docs, quickbooks_ids
from sources.quickbooks.client import QboClient

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector


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
    pipeline = qbo_pipeline(client.realm_id, warehouse, pipelines_dir)
    if pipeline.has_pending_data:
        pipeline.load()
    return pipeline.run(
        quickbooks_ids(client.realm_id, client, entity, ids, deleted=deleted),
        loader_file_format=LOADER_FILE_FORMAT,
    )


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


def land_push_results(connector: Connector) -> int:
    """Copy push outcomes not yet in the warehouse there: the push log, and the records QBO answered."""
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
            qbo = qbo_pipeline(realm_id, settings.warehouse, settings.pipelines_path)
            if qbo.has_pending_data:
                qbo.load()
            qbo.run(quickbooks_docs(realm_id, docs), loader_file_format=LOADER_FILE_FORMAT)
    log_pipeline = warehouse_pipeline("push_log", settings.warehouse, settings.pipelines_path, PUSH_DATASET)
    if log_pipeline.has_pending_data:
        log_pipeline.load()
    rows = [{k: r[k] for k in PUSH_LOG_COLUMNS} for r in fresh]
    log_pipeline.run(
        dlt.resource(
            rows,
            name="push_log",
            primary_key="id",
            write_disposition="merge",
            columns={"error": {"data_type": "json"}},
        ),
        loader_file_format=LOADER_FILE_FORMAT,
    )
    store.push_log.mark_landed([r["id"] for r in fresh])
    return len(fresh)
