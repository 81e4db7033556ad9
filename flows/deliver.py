"""Delivery to the platform: QBO's changes into the outbox, then (when configured) POSTed to its callback.

Run after every drain (deletes and merges show at once, the rest as the last transform found it),
after the hourly sync's transform, and in the nightly reconcile. The warehouse is read under the
writer slot; the callback's HTTP, retries included, runs outside it.
"""

from __future__ import annotations

from datetime import date

from flows.runtime import io_task, run_echo
from flows.writer import warehouse_writer
from pipelines.deliver.callback import post_pending
from pipelines.deliver.enqueue import NotTransformed, deliver
from pipelines.runtime.connector import Connector


@io_task("deliver")
def deliver_task(connector: Connector, as_of: date | None = None) -> dict[str, int]:
    """What QBO changed, as platform DTOs into the outbox the platform reads (GET .../changes); a retry
    stores nothing twice (each change has a stable id). Before any transform there is nothing to say."""
    echo = run_echo()
    try:
        with warehouse_writer(connector.settings):
            result = deliver(connector, echo=echo, as_of=as_of)
    except NotTransformed as exc:
        echo(f"deliver: {exc}")
        return {}
    post_pending(connector, echo=echo)
    return result.enqueued
