"""Syncing realms into the warehouse: one dlt pipeline per realm, one dataset for all of them.

Each realm has its own pipeline (so its own state and checkpoint) writing into the shared `raw_qbo`
dataset; realms are loaded one after the other because DuckDB has a single writer (DESIGN
decision 10). A load interrupted earlier is finished before new data is extracted (STACK_NOTES §7.6).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.pipeline.pipeline import Pipeline

from sources.quickbooks import quickbooks, table_name
from sources.quickbooks.client import QboClient
from sources.quickbooks.extract import DELETED

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
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"qbo_{realm_id}",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=DATASET,
        pipelines_dir=str(pipelines_dir),
        progress="log" if log.isEnabledFor(logging.INFO) else None,
    )


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


def sync_realm(
    client: QboClient,
    *,
    warehouse: Path,
    pipelines_dir: Path,
    entities: Sequence[str] | None = None,
    full_refresh: bool = False,
) -> SyncResult:
    """Extract and load one realm; returns rows per entity and what it cost in HTTP requests."""
    realm_id = client.realm_id
    pipeline = pipeline_for(realm_id, warehouse, pipelines_dir)
    if pipeline.has_pending_data:  # a killed run's load package: finish it before extracting anew
        log.warning("realm %s: finishing an interrupted load first", realm_id)
        pipeline.load()
    before = client.stats.requests, client.stats.retries
    report: dict[str, Any] = {}
    source = quickbooks(
        realm_id,
        client,
        entities,
        full_refresh,
        existing_ids=lambda entity: live_ids(pipeline, realm_id, entity),
        report=report,
    )
    info = pipeline.run(source)
    run = report.get("run")
    rows = {e: n for e, n in (run.counts if run else {}).items() if ":" not in e}
    notes = list(run.notes) if run else []
    return SyncResult(
        realm_id, rows, client.stats.requests - before[0], client.stats.retries - before[1], notes, info
    )
