"""`qbo backfill`: reload a past period in windows, beside the live checkpoint, resumable.

A pipeline of its own per realm keeps the backfill's progress (the windows done) apart from the realm's
live incremental checkpoint, so a backfill never moves what the next `qbo sync` starts from.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlt.pipeline.pipeline import Pipeline

from pipelines.runtime.locks import pipeline_run
from pipelines.runtime.progress import Progress, dlt_collector, progress_of
from pipelines.runtime.warehouse import (
    QBO_DATASET,
    Warehouse,
    WarehouseAccess,
    finish_pending,
    import_data_stacks,
    load,
    load_or_set_aside,
    loader_file_format,
    root_cause,
    warehouse_pipeline,
    when_free,
)
from sources.quickbooks import quickbooks_window
from sources.quickbooks.catalog import ENTITIES, Kind
from sources.quickbooks.client import QboClient
from sources.quickbooks.extract import iso

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector


def backfill_realm(
    client: QboClient,
    since: datetime,
    until: datetime,
    *,
    warehouse: Warehouse,
    pipelines_dir: Path,
    entities: Sequence[str] | None = None,
    window_days: int = 30,
    echo: Callable[[str], None] = print,
    load_lock: AbstractContextManager[Any] | None = None,
) -> dict[str, int]:
    """Reload [since, until) in windows; finished windows are remembered, so a re-run resumes.

    A pipeline of its own keeps the backfill's progress apart from the realm's live checkpoint.
    Extraction and normalisation may run beside other realms'; on DuckDB loading takes `load_lock`,
    because the warehouse has one writer (PostgreSQL has many: realms load side by side).
    """
    realm_id = client.realm_id
    name = f"qbo_{realm_id}_backfill"
    with pipeline_run(pipelines_dir, name):  # one backfill of a realm at a time: dlt's directory is its
        pipeline = warehouse_pipeline(name, warehouse, pipelines_dir, QBO_DATASET)
        access = WarehouseAccess(warehouse, load_lock)
        return _windows(pipeline, access, client, since, until, entities, window_days, echo)


def _windows(
    pipeline: Pipeline,
    access: WarehouseAccess,
    client: QboClient,
    since: datetime,
    until: datetime,
    entities: Sequence[str] | None,
    window_days: int,
    echo: Callable[[str], None],
) -> dict[str, int]:
    """The windows not loaded yet, one after the other; the warehouse is opened under `access` only."""
    realm_id = client.realm_id
    earlier = finish_pending(pipeline, access)
    if earlier is not None:
        echo(f"realm {realm_id}: an earlier backfill load failed and was set aside: {earlier}")
    selected = list(entities or [e for e in ENTITIES if ENTITIES[e].kind is not Kind.SINGLETON])
    done: set[str] = set(pipeline.state.get("_local", {}).get("backfill_windows", []))
    loaded: dict[str, int] = {}
    bar = progress_of(echo)
    if isinstance(echo, Progress):  # the command line's: dlt's steps as they happen
        pipeline.collector = dlt_collector(bar, f"realm {realm_id}")
    task = f"realm {realm_id}: backfill"
    windows = -(-(until - since) // timedelta(days=window_days))
    start = since
    while start < until:
        end = min(start + timedelta(days=window_days), until)
        key = f"{iso(start)}/{iso(end)}/{','.join(sorted(selected))}"
        if key in done:
            echo(f"realm {realm_id}: window {iso(start)} .. {iso(end)} already loaded, skipped")
        else:
            pipeline.extract(
                quickbooks_window(realm_id, client, selected, start, end),
                loader_file_format=loader_file_format(access.warehouse),
            )

            def normalize_and_load() -> dict[str, int]:
                counts = pipeline.normalize().row_counts
                with access:
                    when_free(lambda: load(pipeline))
                return counts

            counts = records(load_or_set_aside(pipeline, access, normalize_and_load))
            for table, count in counts.items():
                loaded[table] = loaded.get(table, 0) + count
            done.add(key)
            pipeline.set_local_state_val("backfill_windows", sorted(done))
            echo(f"realm {realm_id}: window {iso(start)} .. {iso(end)} loaded, {sum(counts.values()):,} rows")
        bar.advance(task, total=windows, unit="windows", done=end >= until)
        start = end
    return loaded


def records(row_counts: dict[str, int]) -> dict[str, int]:
    """The rows of the entities' own tables: not dlt's bookkeeping, not the child tables of lines. A
    window's line and the backfill's total count the same rows, as `qbo sync` counts them."""
    return {t: n for t, n in row_counts.items() if not t.startswith("_dlt") and "__" not in t}


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
    """Backfill several realms at once: each realm in its own thread; into DuckDB loads one at a time
    (under `load_lock` when the caller shares the warehouse with other writers), into PostgreSQL at once."""
    lock: AbstractContextManager[Any] = load_lock if load_lock is not None else threading.Lock()
    realms = connector.realms(realm_ids)
    clients = {realm_id: connector.client(realm_id) for realm_id in realms}

    def recorded(realm_id: str) -> dict[str, int]:
        """One realm's backfill, kept on record like a sync's (`qbo status` reads the latest outcome)."""
        started = datetime.now(UTC)
        try:
            loaded = backfill_realm(
                clients[realm_id],
                since,
                until,
                warehouse=connector.settings.warehouse_target,
                pipelines_dir=connector.settings.pipelines_path,
                entities=entities,
                echo=echo,
                load_lock=lock,
            )
        except Exception as exc:
            cause = root_cause(exc)
            connector.store.errors.record(cause, realm_id, getattr(cause, "entity", None), "backfill")
            connector.store.runs.record(realm_id, "backfill", started, "failed", {}, None, [str(cause)])
            raise
        note = f"{iso(since)} .. {iso(until)}"
        connector.store.runs.record(
            realm_id, "backfill", started, "ok", loaded, clients[realm_id].stats.requests, [note]
        )
        return loaded

    import_data_stacks()  # before the threads: none of them may find pandas half-imported
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(realms)))) as pool:
        futures = {  # each thread in a copy of this context: a scheduler's run context goes along
            realm_id: pool.submit(contextvars.copy_context().run, recorded, realm_id) for realm_id in realms
        }
        return {realm_id: future.result() for realm_id, future in futures.items()}
