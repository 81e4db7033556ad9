"""Syncing realms into the warehouse: one dlt pipeline per realm, one dataset for all of them.

Each realm has its own pipeline (so its own state and checkpoint) writing into the shared `raw_qbo`
dataset. DuckDB has a single writer (DESIGN decision 10): realms may extract and normalise side by
side, but whatever opens the warehouse (a load, the state restored from it, the ids a re-scan compares)
takes the caller's `load_lock`; without one, realms run one after the other. A load interrupted earlier
is finished before new data is extracted (STACK_NOTES §7.6).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlt.common.pipeline import LoadInfo
from dlt.pipeline.pipeline import Pipeline

from pipelines.runtime.progress import progress_of
from pipelines.runtime.warehouse import LOADER_FILE_FORMAT, finish_pending, qbo_pipeline, root_cause
from sources.quickbooks import quickbooks, table_name
from sources.quickbooks.client import QboClient
from sources.quickbooks.extract import DELETED

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
    echo: Callable[[str], None] | None = None,
    load_lock: AbstractContextManager[Any] | None = None,
) -> SyncResult:
    """Extract and load one realm; returns rows per entity and what it cost in HTTP requests.

    This is `pipeline.run` in its steps, so that only the steps that open the warehouse take
    `load_lock` and other realms can extract meanwhile.
    """
    realm_id = client.realm_id
    lock: AbstractContextManager[Any] = load_lock if load_lock is not None else nullcontext()
    pipeline = qbo_pipeline(realm_id, warehouse, pipelines_dir)
    finish_pending(pipeline, lock)
    if pipeline.config.restore_from_destination:  # as `run` does: local state lost -> the warehouse's
        with lock:
            pipeline.sync_destination()

    def existing_ids(entity: str) -> set[str]:
        with lock:
            return live_ids(pipeline, realm_id, entity)

    before = client.stats.requests, client.stats.retries
    bar = progress_of(echo)
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
        connector.store.errors.record(cause, realm_id, getattr(cause, "entity", None), operation="sync")
        connector.store.runs.record(realm_id, "sync", started, "failed", {}, None, [str(cause)])
        echo(f"realm {realm_id}: FAILED: {cause}")
        raise
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


def run_sync_requests(connector: Connector, echo: Callable[[str], None] = print) -> int:
    """Syncs asked for through the gateway, run here so the web service never writes the warehouse."""
    queue = connector.store.events
    done = 0
    for request in queue.pending_syncs():
        realm_id, entities = request["realm_id"], request["entities"]
        try:
            (result,) = sync_all(connector, [realm_id], entities, echo=echo)  # records the run and errors
        except (SyncFailed, LookupError) as exc:
            queue.finish_sync(request["id"], "failed", str(exc))
            continue
        queue.finish_sync(
            request["id"], "ok", f"{sum(result.rows.values())} rows in {result.requests} requests"
        )
        done += 1
    return done
