"""Sync and backfill flows: every connected realm, a few at a time, one DuckDB writer at a time.

Realms extract and normalise in parallel threads (`parallel` of them); on a DuckDB warehouse their
loads, and every other touch of the file, take turns through `WAREHOUSE_WRITER` (on PostgreSQL they
load side by side: flows/writer.py `warehouse_writer`). A realm's task is retried (what fails there is
I/O: QBO, tokens, the network), and one realm's failure fails the flow only after the others have
finished, as `qbo sync` does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from dlt.common.runtime.signals import intercepted_signals
from prefect import Task, flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.deliver import deliver_task
from flows.fan_out import start_each, wait_all
from flows.runtime import flow_connector, io_task, known_entities, run_echo
from flows.transform import transform_task
from flows.writer import ensure_concurrency_limits, warehouse_writer
from pipelines.backfill import backfill_all
from pipelines.runtime.connector import Connector
from pipelines.runtime.warehouse import import_data_stacks
from pipelines.sync import SyncFailed, SyncResult, sync_connected_realm

R = TypeVar("R")
SYNC_REALM_DEPLOYMENT = "qbo-sync-realm/sync-realm"  # prefect.yaml: what `fan_out` starts per realm


@io_task("sync-realm", task_run_name="sync realm {realm_id}")
def sync_realm_task(
    connector: Connector, realm_id: str, entities: list[str] | None = None, full_refresh: bool = False
) -> SyncResult:
    """One realm: extract and normalise beside the others, load when the writer slot is free."""
    echo = run_echo()
    started = time.perf_counter()
    result = sync_connected_realm(
        connector, realm_id, entities, full_refresh, echo=echo, load_lock=warehouse_writer(connector.settings)
    )
    echo(f"realm {realm_id}: synced in {time.perf_counter() - started:.1f} s")
    return result


def warm_up(connector: Connector, realm_ids: Sequence[str]) -> None:
    """Build the connector's shared parts on this thread: lazily, two realm threads could each build
    their own token manager, and then two refreshers of one realm could race."""
    if not realm_ids:
        return
    _ = connector.tokens, connector.store
    for realm_id in realm_ids:
        connector.budget(realm_id)


def each_realm(
    job: Task[..., R], realm_ids: Sequence[str], parallel: int, **parameters: Any
) -> tuple[dict[str, R], list[str]]:
    """`job` once per realm, at most `parallel` at a time; returns what the realms that finished
    returned, and the realms that failed (after their retries)."""
    done: dict[str, R] = {}
    failed: list[str] = []
    if not realm_ids:
        return done, failed
    workers = max(1, min(parallel, len(realm_ids)))
    import_data_stacks()  # before the threads: none of them may find pandas half-imported
    # dlt's steps stop between items on SIGINT/SIGTERM only when the main thread intercepts them
    with intercepted_signals(), ThreadPoolTaskRunner(max_workers=workers) as runner:
        futures = {
            realm_id: runner.submit(job, {**parameters, "realm_id": realm_id}) for realm_id in realm_ids
        }
        for realm_id, future in futures.items():
            future.wait()
            if future.state.is_completed():
                done[realm_id] = future.result()
            else:
                failed.append(realm_id)
    return done, failed


@flow(name="qbo-sync")
def sync_flow(
    realms: list[str] | None = None,
    entities: list[str] | None = None,
    parallel: int = 2,
    full_refresh: bool = False,
    deliver: bool = False,
    fan_out: bool = False,
) -> dict[str, int]:
    """Incremental sync (CDC, deletes included) of every connected realm, or of `realms`; with
    `deliver`, then the transform and QBO's changes into the platform's feed (the hourly deployment).
    With `fan_out`, each realm is a run of the `sync-realm` deployment, so the work pool's workers share
    the realms (flows/fan_out.py); else `parallel` threads of this run.

    Returns the rows loaded per realm. Raises `SyncFailed` naming the realms that failed, once the
    other realms are loaded; each failure is on record for `qbo status`.
    """
    selected = known_entities(entities)
    ensure_concurrency_limits()
    connector = flow_connector()
    chosen = connector.realms(realms)
    echo = run_echo()
    names = ", ".join(chosen) or "none connected"
    started = time.perf_counter()
    if fan_out:
        echo(f"syncing {len(chosen)} realm(s) as runs of {SYNC_REALM_DEPLOYMENT}: {names}")
        rows, requests, failed = fanned_out(connector, chosen, selected, full_refresh)
    else:
        echo(f"syncing {len(chosen)} realm(s), {max(1, parallel)} at a time: {names}")
        warm_up(connector, chosen)
        options = {"connector": connector, "entities": selected, "full_refresh": full_refresh}
        done, failed = each_realm(sync_realm_task, chosen, parallel, **options)
        rows = {realm_id: sum(result.rows.values()) for realm_id, result in done.items()}
        requests = sum(result.requests for result in done.values())
    echo(
        f"synced {len(rows)} of {len(chosen)} realm(s): {sum(rows.values()):,} rows in {requests} requests, "
        f"{time.perf_counter() - started:.1f} s"
    )
    if deliver:  # what was loaded is compared and delivered even when a realm failed
        transform_task(connector)
        deliver_task(connector)
    if failed:
        raise SyncFailed(failed)
    return rows


def fanned_out(
    connector: Connector, realm_ids: list[str], entities: list[str] | None, full_refresh: bool
) -> tuple[dict[str, int], int, list[str]]:
    """A `sync-realm` run per realm, waited for; returns rows per realm that finished (from the runs
    each recorded in the store), their requests, and the realms that failed."""
    since = datetime.now(UTC)
    parameters = {r: {"realm": r, "entities": entities, "full_refresh": full_refresh} for r in realm_ids}
    finished = wait_all(start_each(SYNC_REALM_DEPLOYMENT, parameters))
    rows: dict[str, int] = {}
    requests = 0
    failed = []
    for realm_id, run in finished.items():
        recorded = connector.store.runs.last(realm_id)
        this_tick = bool(recorded) and _aware(recorded[0].started_at) >= since
        if run.state is None or not run.state.is_completed() or not this_tick:
            failed.append(realm_id)
            continue
        rows[realm_id] = sum(recorded[0].rows.values())
        requests += recorded[0].requests or 0
    return rows, requests, sorted(failed)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@flow(name="qbo-sync-realm", flow_run_name="sync realm {realm}")
def sync_realm_flow(realm: str, entities: list[str] | None = None, full_refresh: bool = False) -> int:
    """One realm's sync as a flow run of its own: what the hourly sync fans out to the workers.
    Returns the rows loaded."""
    selected = known_entities(entities)
    ensure_concurrency_limits()
    connector = flow_connector()
    (realm_id,) = connector.realms([realm])
    result = sync_realm_task(connector, realm_id, selected, full_refresh)
    return sum(result.rows.values())


def utc_day(value: date | str) -> datetime:
    """A day (or a time) as an aware UTC datetime: 2024-01-01 is its midnight, UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@io_task("backfill")
def backfill_task(
    connector: Connector,
    realm_ids: list[str],
    since: datetime,
    until: datetime,
    entities: list[str] | None,
    parallel: int,
) -> dict[str, dict[str, int]]:
    """Retried whole: a retry skips the windows already loaded (the backfill keeps them)."""
    with intercepted_signals():
        return backfill_all(
            connector,
            realm_ids,
            since,
            until,
            entities,
            echo=run_echo(),
            parallel=parallel,
            load_lock=warehouse_writer(connector.settings),
        )


@flow(name="qbo-backfill")
def backfill_flow(
    realm: str | list[str],
    since: date | str,
    until: date | str | None = None,
    entities: list[str] | None = None,
    parallel: int = 2,
) -> dict[str, int]:
    """Reload [since, until) of the realm(s) in 30-day windows without moving the live checkpoint.

    Days are UTC; `until` defaults to now. Returns the rows loaded per realm.
    """
    start, end = utc_day(since), utc_day(until) if until is not None else datetime.now(UTC)
    if end <= start:
        raise ValueError(f"until ({end:%Y-%m-%d}) must be after since ({start:%Y-%m-%d})")
    selected = known_entities(entities)
    ensure_concurrency_limits()
    connector = flow_connector()
    chosen = connector.realms([realm] if isinstance(realm, str) else list(realm))
    echo = run_echo()
    echo(f"backfilling {', '.join(chosen)} from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC")
    started = time.perf_counter()
    loaded = backfill_task(connector, chosen, start, end, selected, parallel)
    rows = {realm_id: sum(tables.values()) for realm_id, tables in loaded.items()}
    for realm_id, count in rows.items():
        echo(f"realm {realm_id}: backfilled {count:,} rows")
    echo(f"backfill done in {time.perf_counter() - started:.1f} s")
    return rows
