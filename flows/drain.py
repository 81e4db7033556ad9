"""The webhook drain flow: what stored webhook events say changed, fetched into the warehouse.

`qbo serve` stores events and answers QBO at once; this flow, every minute, claims them and loads the
changed records (and runs the syncs the gateway was asked for), so the web service never writes the
warehouse. Events that fail are given back to the queue for the next drain, so the task is retried
only for what stops the whole drain (the store or the network). Then QBO's changes go to the
platform (flows/deliver.py): deletes and merges at once, edits as the last transform found them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.deliver import deliver_task
from flows.runtime import flow_connector, run_echo, worth_retrying
from flows.writer import ensure_concurrency_limits, warehouse_writer
from pipelines.drain import drain
from pipelines.runtime.connector import Connector
from pipelines.runtime.landing import land_push_results
from pipelines.sync import run_sync_requests


class EventsFailed(RuntimeError):
    """Some events could not be processed; they wait in the queue for the next drain."""


@task(
    name="drain-webhooks",
    retries=1,
    retry_delay_seconds=10,  # the next scheduled drain is a minute away anyway
    retry_condition_fn=worth_retrying,
    cache_policy=NO_CACHE,
    tags=["qbo", "io"],
)
def drain_task(connector: Connector) -> dict[str, Any]:
    echo = run_echo()
    # the slot is taken around each load, after the realm's lock, as a sync takes them: held around the
    # whole drain, it would wait on a sync that waits on it
    writer = warehouse_writer(connector.settings)
    result = drain(connector, echo=echo, load_lock=writer)
    figures = asdict(result)
    figures["syncs"] = run_sync_requests(connector, echo=echo, load_lock=writer)
    figures["landed"] = land_push_results(connector, load_lock=writer)  # real-time pushes
    echo(", ".join(f"{name} {value}" for name, value in figures.items() if isinstance(value, int)))
    return figures


@flow(name="qbo-webhook-drain")
def webhook_drain_flow() -> dict[str, Any]:
    """Drain the stored webhook events once; returns the drain's figures (events, fetched, deleted,
    ignored, ...). Fails when events failed, after giving them back for the next drain."""
    ensure_concurrency_limits()
    connector = flow_connector()
    figures = drain_task(connector)
    figures["delivered"] = sum(deliver_task(connector).values())
    if figures.get("failed"):
        notes = "; ".join(figures.get("notes") or [])
        raise EventsFailed(f"{figures['failed']} events failed and wait for the next drain: {notes}")
    return figures
