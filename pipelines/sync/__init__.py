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

A realm left settled by its last sync (runtime/settled.py) is first asked what changed: when QBO says
nothing, the sync ends there, without dlt (load.py, imported only when there is something to load).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.runtime import settled
from pipelines.runtime.locks import LockBusy, pipeline_run
from pipelines.runtime.progress import progress_of
from pipelines.runtime.warehouse_target import Warehouse, qbo_pipeline_name
from sources.quickbooks import table_name
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.client import QboClient
from sources.quickbooks.extract import EntityState, Extraction
from sources.quickbooks.settings import MAX_IN_FLIGHT

if TYPE_CHECKING:
    from dlt.common.pipeline import LoadInfo

    from pipelines.runtime.connector import Connector
    from pipelines.runtime.warehouse import LoadFailed

log = logging.getLogger("qbo.sync")


@dataclass
class SyncResult:
    realm_id: str
    rows: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)
    load_info: LoadInfo | None = None  # None: nothing changed, so nothing was loaded
    set_aside: list[LoadFailed] = field(default_factory=list)  # earlier packages the warehouse refused
    normalize_workers: int = 1  # processes dlt normalised the rows in


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

    The whole run holds the realm's lock file: a second run of the realm waits for it, or says who
    holds it. A settled realm whose CDC call and batch come back empty is done with those two requests;
    otherwise their answers go on to dlt (load.py), which does not ask again.
    """
    realm_id = client.realm_id
    before = client.stats.requests, client.stats.retries
    with pipeline_run(pipelines_dir, qbo_pipeline_name(realm_id)):
        begun, found = (None, None) if full_refresh else probe(client, warehouse, pipelines_dir, entities)
        if begun is not None and found is not None and found.nothing_new(begun.incremental_docs()):
            result = SyncResult(realm_id, notes=list(begun.notes))
        else:
            from pipelines.sync.load import load_realm

            result = load_realm(
                client,
                warehouse=warehouse,
                pipelines_dir=pipelines_dir,
                entities=entities,
                full_refresh=full_refresh,
                echo=echo,
                load_lock=load_lock,
                workers=workers,
                begun=begun,
            )
    result.requests, result.retries = client.stats.requests - before[0], client.stats.retries - before[1]
    return result


def probe(
    client: QboClient, warehouse: Warehouse, pipelines_dir: Path, entities: Sequence[str] | None
) -> tuple[Extraction, settled.Settled] | tuple[None, None]:
    """An incremental run from where the realm is settled, not yet asked anything, and where that is;
    (None, None) when it is not settled (the sync goes through dlt, from dlt's own state, and says
    what an unknown entity name is)."""
    selected = list(entities or ENTITIES)
    if any(e not in ENTITIES for e in selected):
        return None, None
    found = settled.read(pipelines_dir, client.realm_id, warehouse, selected, datetime.now(UTC))
    if found is None:
        return None, None
    state = {e: EntityState(found.checkpoints[e]) for e in selected}
    return Extraction(client, client.realm_id, selected, state), found


def extracted_rows(run: Extraction | None) -> dict[str, int]:
    """Rows per entity a run extracted (its other counts, `entity:deleted` and the like, aside)."""
    return {e: n for e, n in (run.counts if run else {}).items() if ":" not in e}


def entity_of(table: str | None) -> str | None:
    """The catalog entity a warehouse table (or its child table) holds, for the error's record."""
    if not table:
        return None
    root = table.split("__")[0]
    return next((e for e in ENTITIES if table_name(e) == root), None)


def record_failure(connector: Connector, realm_id: str, cause: BaseException) -> None:
    """Into the errors table: the connector's own refusals as their error DTO, the rest as they are."""
    from pipelines.runtime.warehouse import LoadFailed, WarehouseBusy

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
        from pipelines.runtime.warehouse import root_cause  # dlt's wrappings: a failure may import dlt

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
