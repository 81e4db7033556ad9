"""Webhook events: the durable queue the gateway writes, and the worker that drains it into the warehouse.

Intake (`EventQueue.put`) only stores: an event's key is unique, so a redelivery is stored once. The
worker claims events under a lease, dedupes them (one change told twice is one change), groups them
by realm and entity, and loads the changed records through the source's targeted fetch: Create,
Update, Void and Emailed fetch the record; Delete marks it deleted; Merge fetches the survivor and
marks the merged-away record deleted, recording what it went into. Events are marked done only after
their load committed, so a worker killed mid-batch leaves them claimed; once the lease runs out the
next worker takes them again, and the merge on (realm_id, id) makes the second load change nothing.
Processed events are kept, for `qbo webhooks replay`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pipelines.integration_store import sync_requests, webhook_events
from pipelines.push import land
from pipelines.sync import SyncFailed, fetch_records, root_cause, sync_all
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.webhook_payloads import ChangeEvent

if TYPE_CHECKING:
    from pipelines.connector import Connector

log = logging.getLogger("qbo.webhooks")

LEASE = timedelta(minutes=5)  # a claim older than this belongs to a worker that died
GONE = ("Delete",)


class EventQueue:
    """Webhook events in the integration store (SQLite by default, PostgreSQL when scaled out)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # SQLite has one writer: threads that queue here are served in turn, where SQLite's own lock
        # retries with back-off let newcomers overtake and left a few answers past Intuit's 3 s
        self._writing: AbstractContextManager[Any] = (
            threading.Lock() if dialect == "sqlite" else nullcontext()
        )

    def put(self, events: Sequence[ChangeEvent]) -> int:
        """Store a delivery's events in one transaction; returns how many were new."""
        if not events:
            return 0
        now = datetime.now(UTC)
        rows = [
            {
                "event_key": e.key,
                "format": e.format,
                "realm_id": e.realm_id,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "operation": e.operation,
                "occurred_at": e.occurred_at,
                "deleted_id": e.deleted_id,
                "received_at": now,
                "status": "pending",
                "attempts": 0,
            }
            for e in {e.key: e for e in events}.values()
        ]
        statement = (
            self._insert(webhook_events)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(webhook_events.c.id)
        )
        with self._writing, self.engine.begin() as conn:
            return len(conn.execute(statement, rows).all())

    def claim(self, limit: int, lease: timedelta = LEASE) -> tuple[str, list[dict[str, Any]]]:
        """Take up to `limit` pending events (or events whose claim expired) for this worker alone."""
        token = uuid.uuid4().hex
        now = datetime.now(UTC)
        claimable = or_(
            webhook_events.c.status == "pending",
            and_(webhook_events.c.status == "claimed", webhook_events.c.claimed_at < now - lease),
        )
        with self.engine.begin() as conn:
            ids = conn.scalars(
                select(webhook_events.c.id).where(claimable).order_by(webhook_events.c.id).limit(limit)
            ).all()
            if ids:  # the condition again: another worker may have taken some meanwhile
                conn.execute(
                    update(webhook_events)
                    .where(webhook_events.c.id.in_(ids), claimable)
                    .values(
                        status="claimed",
                        claim=token,
                        claimed_at=now,
                        attempts=webhook_events.c.attempts + 1,
                    )
                )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(webhook_events).where(webhook_events.c.claim == token).order_by(webhook_events.c.id)
            ).mappings()
            return token, [dict(r) for r in rows]

    def finish(self, token: str, ids: Iterable[int], status: str, note: str | None = None) -> None:
        """Mark claimed events done or ignored; only the claim's holder can."""
        wanted = list(ids)
        with self.engine.begin() as conn:
            for start in range(0, len(wanted), 500):
                conn.execute(
                    update(webhook_events)
                    .where(
                        webhook_events.c.id.in_(wanted[start : start + 500]), webhook_events.c.claim == token
                    )
                    .values(status=status, claim=None, processed_at=datetime.now(UTC), note=note)
                )

    def release(self, token: str, ids: Iterable[int], note: str) -> None:
        """Give events back at once (their load failed): the next drain retries them."""
        with self.engine.begin() as conn:
            conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id.in_(list(ids)), webhook_events.c.claim == token)
                .values(status="pending", claim=None, claimed_at=None, note=note[:2000])
            )

    def replay(self, since: datetime, realm_id: str | None = None, entity: str | None = None) -> int:
        """Queue again every processed event received since `since`: they are fetched anew."""
        where = [webhook_events.c.received_at >= since, webhook_events.c.status.in_(("done", "ignored"))]
        if realm_id:
            where.append(webhook_events.c.realm_id == realm_id)
        if entity:
            where.append(webhook_events.c.entity == entity)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(webhook_events).where(*where).values(status="pending", claim=None, note="replayed")
            )
            return result.rowcount or 0

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(webhook_events.c.status, func.count()).group_by(webhook_events.c.status)
            ).all()
        return {str(status): int(n) for status, n in rows}

    # sync requests (POST /integrations/quickbooks/{entity}/sync) ---------------------------------
    def request_sync(self, tenant_id: str, realm_id: str, entities: list[str]) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(sync_requests).values(
                    tenant_id=tenant_id,
                    realm_id=realm_id,
                    entities=entities,
                    requested_at=datetime.now(UTC),
                    status="pending",
                )
            )
            return int(result.inserted_primary_key[0])

    def pending_syncs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(sync_requests).where(sync_requests.c.status == "pending").order_by(sync_requests.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def finish_sync(self, request_id: int, status: str, note: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(sync_requests)
                .where(sync_requests.c.id == request_id)
                .values(status=status, finished_at=datetime.now(UTC), note=note[:2000])
            )


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
    syncs: int = 0  # sync requests run
    notes: list[str] = field(default_factory=list)


def drain(connector: Connector, echo: Callable[[str], None] = print, batch: int = 500) -> DrainResult:
    """Process every pending event, then every requested sync; one warehouse writer (this one)."""
    queue = EventQueue(connector.store.engine)
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
                connector.store.record_error(cause, realm_id, entity, operation="webhook")
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
    result.syncs = run_sync_requests(connector, queue, echo)
    land(connector)  # the gateway's real-time pushes, into the push log and raw_qbo
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


def run_sync_requests(connector: Connector, queue: EventQueue, echo: Callable[[str], None]) -> int:
    """Syncs asked for through the gateway, run here so the web service never writes the warehouse."""
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
