"""`qbo webhooks drain`: what stored webhook events say changed, fetched into the warehouse.

The gateway only stores events (store/webhook_queue.py). The drain claims them under a lease, dedupes
them (one change told twice is one change), groups them by realm and entity, and loads the changed
records through the source's targeted fetch: Create, Update, Void and Emailed fetch the record; Delete
marks it deleted; Merge fetches the survivor and marks the merged-away record deleted, recording what it
went into. Events are marked done only after their load committed, so a worker killed mid-batch leaves
them claimed; once the lease runs out the next worker takes them again, and the merge on (realm_id, id)
makes the second load change nothing. Processed events are kept, for `qbo webhooks replay`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipelines.runtime.landing import fetch_records
from pipelines.runtime.warehouse import root_cause
from sources.quickbooks.catalog import ENTITIES

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

log = logging.getLogger("qbo.webhooks")

GONE = ("Delete",)


@dataclass
class Changes:
    """What one realm's events say of one entity, deduplicated: ids to fetch, ids known deleted."""

    fetch: set[str] = field(default_factory=set)
    deleted: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)
    events: list[int] = field(default_factory=list)


def coalesce(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Changes]:
    """(realm, entity) -> Changes. A deleted record is not fetched, whatever else its events say."""
    out: dict[tuple[str, str], Changes] = defaultdict(Changes)
    for row in rows:
        changes = out[(row["realm_id"], row["entity"])]
        changes.events.append(row["id"])
        when = row["occurred_at"]
        if row["operation"] in GONE:
            changes.deleted[row["entity_id"]] = (when, None)
        elif row["operation"] == "Merge" and row["deleted_id"]:
            changes.fetch.add(row["entity_id"])
            changes.deleted[row["deleted_id"]] = (when, row["entity_id"])
        else:
            changes.fetch.add(row["entity_id"])
    for changes in out.values():
        changes.fetch -= set(changes.deleted)
    return dict(out)


@dataclass
class DrainResult:
    events: int = 0  # events claimed
    duplicates: int = 0  # events that told a change another event had told
    fetched: int = 0  # records asked of QBO
    deleted: int = 0  # records marked deleted
    ignored: int = 0  # events of realms not connected, or entities not in the catalog
    failed: int = 0  # events given back for the next drain
    requests: int = 0  # QBO HTTP requests
    notes: list[str] = field(default_factory=list)


def drain(connector: Connector, echo: Callable[[str], None] = print, batch: int = 500) -> DrainResult:
    """Process every pending event; one warehouse writer (this one)."""
    queue = connector.store.events
    connected = (
        {r.realm_id for r in connector.connections()} if connector.settings.token_encryption_keys else set()
    )
    result = DrainResult()
    while True:
        token, rows = queue.claim(batch)
        if not rows:
            break
        result.events += len(rows)
        result.duplicates += len(rows) - len({_content(r) for r in rows})
        for reason, test in (
            ("realm not connected", lambda r: r["realm_id"] not in connected),
            ("entity not in the catalog", lambda r: r["entity"] not in ENTITIES),
        ):
            skipped = [r for r in rows if test(r)]
            if skipped:
                queue.finish(token, [r["id"] for r in skipped], "ignored", reason)
                result.ignored += len(skipped)
                rows = [r for r in rows if not test(r)]
        for (realm_id, entity), changes in sorted(coalesce(rows).items()):
            try:
                result.requests += _load(connector, realm_id, entity, changes)
            except Exception as exc:
                cause = root_cause(exc)
                connector.store.errors.record(cause, realm_id, entity, operation="webhook")
                queue.release(token, changes.events, f"{type(cause).__name__}: {cause}")
                result.failed += len(changes.events)
                result.notes.append(f"realm {realm_id} {entity}: {cause}")
                continue
            queue.finish(token, changes.events, "done")
            result.fetched += len(changes.fetch)
            result.deleted += len(changes.deleted)
            echo(
                f"realm {realm_id}: {entity}: {len(changes.events)} events, "
                f"{len(changes.fetch)} fetched, {len(changes.deleted)} deleted"
            )
        if result.failed:
            break  # what failed waits for the next drain rather than being retried in a loop
    return result


def _content(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["realm_id"], row["entity"], row["entity_id"], row["operation"], row["occurred_at"]


def _load(connector: Connector, realm_id: str, entity: str, changes: Changes) -> int:
    """Fetch and merge one (realm, entity) group; returns the HTTP requests it took."""
    client = connector.client(realm_id)
    before = client.stats.requests
    fetch_records(
        client,
        entity,
        sorted(changes.fetch),
        warehouse=connector.settings.warehouse,
        pipelines_dir=connector.settings.pipelines_path,
        deleted=changes.deleted,
    )
    return client.stats.requests - before
