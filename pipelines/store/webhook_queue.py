"""The durable webhook event queue the gateway writes and the drain claims, and the sync requests.

Intake (`EventQueue.put`) only stores: an event's key is unique, so a redelivery is stored once. A
worker claims events under a lease; events are marked done only after their load committed, so a
worker killed mid-batch leaves them claimed, and once the lease runs out the next worker takes them
again. Processed events are kept, for `qbo webhooks replay`.

Statuses: pending, claimed, done, ignored (realm not connected, entity not in the catalog), and failed:
QBO refused the event's record for the last of the drain's bounded tries (counted in `attempts`), so
it no longer holds its realm's queue back; its `note` says why, and a replay queues it again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pipelines.store.pruning import BATCH, prune_rows
from pipelines.store.schema import sync_requests, webhook_events
from sources.quickbooks.webhook_payloads import ChangeEvent

LEASE = timedelta(minutes=5)  # a claim older than this belongs to a worker that died


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
        return self.put_many([events])[0]

    def put_many(
        self, deliveries: Sequence[Sequence[ChangeEvent]], connection: Connection | None = None
    ) -> list[int]:
        """Store several deliveries' events in one statement and one transaction (the gateway groups
        concurrent deliveries: one commit, one fsync, for all of them); returns how many of each
        delivery's events were new. An event two of them carry is new for the first only.
        `connection`: one the caller keeps (the gateway's writer), else one from the pool."""
        now = datetime.now(UTC)
        rows: dict[str, dict[str, Any]] = {}
        for events in deliveries:
            for e in events:
                if e.key not in rows:
                    rows[e.key] = {
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
        if not rows:
            return [0] * len(deliveries)
        statement = (
            self._insert(webhook_events)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(webhook_events.c.event_key)
        )
        with self._writing:
            if connection is None:
                with self.engine.begin() as conn:
                    new = set(conn.execute(statement, list(rows.values())).scalars().all())
            else:
                with connection.begin():
                    new = set(connection.execute(statement, list(rows.values())).scalars().all())
        counts = []
        for events in deliveries:
            mine = new.intersection(e.key for e in events)
            new -= mine
            counts.append(len(mine))
        return counts

    def claim(
        self, limit: int, lease: timedelta = LEASE, exclude: Collection[int] = ()
    ) -> tuple[str, list[dict[str, Any]]]:
        """Take up to `limit` pending events (or events whose claim expired) for this worker alone;
        not those in `exclude` (what this drain already gave back, to be retried by the next one)."""
        token = uuid.uuid4().hex
        now = datetime.now(UTC)
        claimable = or_(
            webhook_events.c.status == "pending",
            and_(webhook_events.c.status == "claimed", webhook_events.c.claimed_at < now - lease),
        )
        if exclude:
            claimable = and_(claimable, webhook_events.c.id.not_in(list(exclude)))
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
        """Mark claimed events done, ignored or failed; only the claim's holder can."""
        wanted = list(ids)
        with self.engine.begin() as conn:
            for start in range(0, len(wanted), 500):
                conn.execute(
                    update(webhook_events)
                    .where(
                        webhook_events.c.id.in_(wanted[start : start + 500]), webhook_events.c.claim == token
                    )
                    .values(
                        status=status,
                        claim=None,
                        processed_at=datetime.now(UTC),
                        note=None if note is None else note[:2000],
                    )
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
        """Queue again every processed event received since `since`: they are fetched anew (failed ones
        with their tries counted afresh)."""
        where = [
            webhook_events.c.received_at >= since,
            webhook_events.c.status.in_(("done", "ignored", "failed")),
        ]
        if realm_id:
            where.append(webhook_events.c.realm_id == realm_id)
        if entity:
            where.append(webhook_events.c.entity == entity)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(webhook_events)
                .where(*where)
                .values(status="pending", claim=None, attempts=0, note="replayed")
            )
            return result.rowcount or 0

    def prune(self, before: datetime, *, batch: int = BATCH, dry_run: bool = False) -> dict[str, int]:
        """Forget processed events (done, ignored, failed) received before `before`, and finished sync
        requests asked for before it; pending and claimed ones stay, however old. A replay reaches back
        only as far as the events kept."""
        e, r = webhook_events.c, sync_requests.c
        processed = and_(e.status.in_(("done", "ignored", "failed")), e.received_at < before)
        finished = and_(r.status != "pending", r.requested_at < before)
        options: dict[str, Any] = {"batch": batch, "dry_run": dry_run, "guard": self._writing}
        return {
            webhook_events.name: prune_rows(self.engine, webhook_events, processed, **options),
            sync_requests.name: prune_rows(self.engine, sync_requests, finished, **options),
        }

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

    def for_record(self, realm_id: str, entity: str, qbo_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """What QBO's webhooks said of one record, newest first (the review console's record page)."""
        e = webhook_events.c
        query = (
            select(e.occurred_at, e.operation, e.status, e.received_at, e.note)
            .where(e.realm_id == realm_id, e.entity == entity, e.entity_id == qbo_id)
            .order_by(e.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]
