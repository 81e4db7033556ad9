"""Loads more than one job makes: QBO records fetched by id, and what pushes answered.

The webhook drain fetches the records events name; the batch push and the drain both land the push
outcomes the integration store holds (the gateway's real-time pushes among them) into the warehouse:
the push log, and the records as QBO answered them, so the next transform sees QBO as it now is.
Each load holds its pipeline's lock file (a realm's pipeline is the sync's too) and opens the warehouse
under its lock file only (a DuckDB file's; PostgreSQL needs none); a package the warehouse refuses is
set aside, never left to wedge the next run.

A deletion mark is written only for a record the warehouse holds: a Delete event (or a fetch QBO answers
with nothing) for an id the warehouse never saw says nothing about its data, and a flood of events for
made-up ids must not leave a row per id (issue 20). Those ids are returned, for the caller to note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation
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
from sources.quickbooks import quickbooks_docs, quickbooks_ids, table_name
from sources.quickbooks.client import QboClient
from sources.quickbooks.extract import DELETED

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


IDS_PER_QUERY = 500  # ids per IN (...) list: well under either engine's parameter limits


def held_ids(pipeline: Pipeline, realm_id: str, entity: str, ids: Iterable[str]) -> set[str]:
    """Which of `ids` the warehouse holds a row of for the realm, live or deleted (none before the
    entity's first load: no schema, no table)."""
    wanted = sorted(set(ids))
    table = table_name(entity)
    if not wanted or pipeline.default_schema_name is None or table not in pipeline.default_schema.tables:
        return set()
    held: set[str] = set()
    try:
        with pipeline.sql_client() as sql:
            name = sql.make_qualified_table_name(table)
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = wanted[start : start + IDS_PER_QUERY]
                marks = ", ".join(["%s"] * len(chunk))
                rows = sql.execute_sql(
                    f"SELECT id FROM {name} WHERE realm_id = %s AND id IN ({marks})", realm_id, *chunk
                )
                held.update(str(row[0]) for row in rows or [])
    except DatabaseUndefinedRelation:  # in the schema, never loaded (its first load was set aside)
        return set()
    return held


@dataclass
class Fetched:
    """A targeted fetch's load, and the ids it wrote nothing for: named deleted (or not found in QBO)
    while the warehouse never held them."""

    info: LoadInfo
    unknown: set[str] = field(default_factory=set)


def fetch_records(
    client: QboClient,
    entity: str,
    ids: Sequence[str],
    *,
    warehouse: Warehouse,
    pipelines_dir: Path,
    deleted: Mapping[str, tuple[datetime | None, str | None]] | None = None,
    load_lock: AbstractContextManager[Any] | None = None,
) -> Fetched:
    """Load exactly these records into the warehouse (those QBO no longer has, as deleted); `deleted`
    are ids known gone (when, merged into what), marked without asking QBO. Either kind of mark is
    written only for a record the warehouse holds; the others come back in `Fetched.unknown`."""
    realm_id = client.realm_id
    with pipeline_run(pipelines_dir, qbo_pipeline_name(realm_id)):
        pipeline = qbo_pipeline(realm_id, warehouse, pipelines_dir)
        data = quickbooks_ids(realm_id, client, entity, ids, deleted=deleted)
        access = WarehouseAccess(warehouse, load_lock)
        candidates = set(ids) | set(deleted or {})
        known: list[set[str]] = []  # asked once, at the first mark: after run_locked's pending loads

        def held() -> set[str]:
            if not known:
                with access:
                    known.append(when_free(lambda: held_ids(pipeline, realm_id, entity, candidates)))
            return known[0]

        unknown: set[str] = set()
        data.resources[table_name(entity)].add_filter(_marks_of_held(held, unknown))
        info = run_locked(pipeline, data, warehouse, load_lock)[0]
    return Fetched(info, unknown)


def _marks_of_held(held: Callable[[], set[str]], unknown: set[str]) -> Callable[[dict[str, Any]], bool]:
    """A row filter: records pass, a deletion mark passes only for an id in `held()`; the ids of the
    marks dropped are added to `unknown`."""

    def keep(row: dict[str, Any]) -> bool:
        if not row.get(DELETED) or str(row["Id"]) in held():
            return True
        unknown.add(str(row["Id"]))
        return False

    return keep


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
