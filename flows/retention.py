"""The retention flow, nightly: the integration store's history past its retention, deleted.

It touches only the integration store (never the warehouse), so it takes no warehouse writer slot and
runs beside syncs and drains; each delete is a short batch. Retried like any store I/O; a bad
`[retention]` setting fails at once with the key to fix.
"""

from __future__ import annotations

from prefect import flow

from flows.runtime import flow_connector, io_task, run_echo
from pipelines.retention import Retention, line, prune
from pipelines.runtime.connector import Connector


@io_task("prune-store")
def prune_task(connector: Connector, retention: Retention, dry_run: bool) -> dict[str, int]:
    echo = run_echo()
    pruned = prune(connector.store, retention, dry_run=dry_run)
    for result in pruned:
        echo(line(result, dry_run))
    return {result.table: result.rows for result in pruned}


@flow(name="qbo-retention")
def retention_flow(dry_run: bool = False) -> dict[str, int]:
    """Prune the store's webhook events, push log, runs and errors, acknowledged outbox changes, ask
    audit and final decisions past their retention ([retention] in .dlt/config.toml); returns the rows
    removed per table (or that would be, with `dry_run`)."""
    retention = Retention.resolve()  # a bad setting fails here, before any retry
    return prune_task(flow_connector(), retention, dry_run)
