"""Operational records beside the tokens: sync runs and integration errors (DESIGN decision 10).

Both live in the integration store (SQLite file by default, PostgreSQL by URL), never in the
warehouse, so the web service and the flows can write them while DuckDB is busy. An error row
carries realm, entity, code, message and intuit_tid: what support needs, and never a token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    desc,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from sources.quickbooks.errors import QboError, redact
from sources.quickbooks.tokens import UTCDateTime

metadata = MetaData()

sync_runs = Table(
    "qbo_sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("realm_id", String(32), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # sync | backfill
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),  # ok | failed
    Column("rows", JSON),
    Column("requests", Integer),
    Column("notes", Text),
)

integration_errors = Table(
    "qbo_integration_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, index=True),
    Column("realm_id", String(32), index=True),
    Column("entity", String(64)),
    Column("operation", String(32)),
    Column("code", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("element", String(256)),
    Column("intuit_tid", String(128)),
    Column("details", JSON),
)


approvals = Table(
    "qbo_approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("platform_id", String(64), nullable=False),
    Column("operation", String(16), nullable=False),  # void | deactivate
    Column("approved_by", String(128), nullable=False),
    Column("approved_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "entity", "platform_id", "operation", name="qbo_approvals_once"),
)

push_results = Table(
    "qbo_push_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pushed_at", DateTime(timezone=True), nullable=False),
    Column("tenant_id", String(64), nullable=False),
    Column("realm_id", String(32), nullable=False, index=True),
    Column("entity", String(32), nullable=False),
    Column("platform_id", String(64), nullable=False),
    Column("qbo_id", String(64)),
    Column("sync_token", String(32)),
    Column("operation", String(16), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("bid", String(16), nullable=False),
    Column("payload_hash", String(64)),
    Column("outcome", String(16), nullable=False),  # ok | invalid | conflict | desynced | failed
    Column("error", JSON),  # the error DTO, never a token
    Column("doc", JSON),  # QBO's answer: the record as it now is
    Column("landed", Boolean, nullable=False, default=False),  # copied into the warehouse
    UniqueConstraint("request_id", "bid", name="qbo_push_results_once"),
)


webhook_events = Table(
    "qbo_webhook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_key", String(200), nullable=False, unique=True),  # CloudEvents id, or legacy content
    Column("format", String(16), nullable=False),
    Column("realm_id", String(64), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("operation", String(16), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("deleted_id", String(64)),  # Merge: the record merged away
    Column("received_at", UTCDateTime(), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),  # pending | claimed | done | ignored
    Column("claim", String(64)),  # who holds it, while claimed
    Column("claimed_at", UTCDateTime()),
    Column("attempts", Integer, nullable=False, default=0),
    Column("processed_at", UTCDateTime()),
    Column("note", Text),  # why it was ignored, or what the last attempt failed on
)

sync_requests = Table(
    "qbo_sync_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("realm_id", String(64), nullable=False),
    Column("entities", JSON, nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # pending | ok | failed
    Column("finished_at", UTCDateTime()),
    Column("note", Text),
)

intent_audit = Table(
    "qbo_intent_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("caller", String(128), nullable=False),  # who asked: an API key's label, an agent, "cli"
    Column("question", Text),  # the words, when the intent came from words
    Column("intent", JSON, nullable=False),
    Column("realm_id", String(64)),
    Column("ran_on", String(16), nullable=False),  # warehouse | qbo | approval_queue | refused
    Column("query", Text),  # the QBO query or the SQL actually run
    Column("rows", Integer),
    Column("note", Text),
)

intent_writes = Table(
    "qbo_intent_writes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("caller", String(128), nullable=False),
    Column("realm_id", String(64)),
    Column("entity", String(32), nullable=False),
    Column("record", JSON, nullable=False),  # the platform DTO drafted; created only once a person approves
    Column("status", String(16), nullable=False),  # pending | incomplete | approved | rejected
    Column("error", JSON),  # incomplete: the error DTO saying what to fix
    Column("approved_by", String(128)),
    Column("result", JSON),  # what the push answered once approved: QBO Id and SyncToken, or the error DTO
)

# what the gateway knows of QBO without the warehouse (pipelines/push/references.py)
references = Table(
    "qbo_references",
    metadata,
    Column("realm_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # link | lookup | default
    Column("scope", String(64), nullable=False),  # link: entity; lookup: list table; default: entity.field
    Column("name", String(320), nullable=False),  # link: tenant|platform id; lookup: lower(name); default: ""
    Column("qbo_id", String(64), nullable=False),
    Column("sync_token", String(32)),
    Column("published_at", UTCDateTime(), nullable=False),
    UniqueConstraint("realm_id", "kind", "scope", "name", name="qbo_references_once"),
)


def engine_for(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        # as many connections as the gateway's worker threads (40), so none waits for one
        return create_engine(
            parsed, pool_pre_ping=True, json_serializer=_json_text, pool_size=10, max_overflow=30
        )
    if parsed.database in (None, "", ":memory:"):
        return create_engine(parsed, pool_pre_ping=True, json_serializer=_json_text)
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # the gateway writes webhook events from many threads while workers claim them: writers wait
    # for the lock rather than fail, and readers never wait (WAL)
    engine = create_engine(
        parsed, pool_pre_ping=True, json_serializer=_json_text, connect_args={"timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except Exception:  # noqa: S110 - another process switching it at the same moment
            pass
        finally:
            cursor.close()

    return engine


def _json_text(value: Any) -> str:
    """JSON columns hold QBO documents, whose money is Decimal (client.decimal_json): as JSON numbers."""
    return json.dumps(value, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))


@dataclass
class RunRecord:
    realm_id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    rows: dict[str, int]
    requests: int | None
    notes: str | None


class IntegrationStore:
    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)
        self._create_tables()

    def _create_tables(self) -> None:
        """Create the tables; processes starting together may race to it, and the loser just retries."""
        for attempt in range(5):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                return
            except DBAPIError as exc:
                if "already exists" not in str(exc.orig) or attempt == 4:
                    raise

    def record_run(
        self,
        realm_id: str,
        kind: str,
        started_at: datetime,
        status: str,
        rows: dict[str, int],
        requests: int | None,
        notes: list[str],
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(sync_runs).values(
                    realm_id=realm_id,
                    kind=kind,
                    started_at=started_at,
                    finished_at=datetime.now(UTC),
                    status=status,
                    rows=rows,
                    requests=requests,
                    notes="\n".join(notes) or None,
                )
            )

    def record_error(
        self,
        error: BaseException,
        realm_id: str | None,
        entity: str | None = None,
        operation: str | None = None,
    ) -> None:
        """Typed QBO errors keep their code, element and intuit_tid; anything else is `CONNECTOR`."""
        if isinstance(error, QboError):
            values: dict[str, Any] = {
                "code": error.code,
                "message": error.message,
                "element": error.element,
                "intuit_tid": error.intuit_tid,
                "details": error.to_dto()["details"],
            }
        else:
            values = {
                "code": "CONNECTOR",
                "message": redact(f"{type(error).__name__}: {error}")[:2000],
                "element": None,
                "intuit_tid": None,
                "details": None,
            }
        self._insert_error(values, realm_id, entity, operation)

    def _insert_error(
        self, values: dict[str, Any], realm_id: str | None, entity: str | None, operation: str | None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(integration_errors).values(
                    occurred_at=datetime.now(UTC),
                    realm_id=realm_id,
                    entity=entity,
                    operation=operation,
                    **values,
                )
            )

    def last_runs(self, realm_id: str, kind: str = "sync", limit: int = 1) -> list[RunRecord]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(sync_runs)
                    .where(sync_runs.c.realm_id == realm_id, sync_runs.c.kind == kind)
                    .order_by(desc(sync_runs.c.id))
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [
            RunRecord(
                r["realm_id"],
                r["kind"],
                r["started_at"],
                r["finished_at"],
                r["status"],
                r["rows"] if isinstance(r["rows"], dict) else json.loads(r["rows"] or "{}"),
                r["requests"],
                r["notes"],
            )
            for r in rows
        ]

    def last_ok(self, realm_id: str) -> RunRecord | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(sync_runs)
                    .where(sync_runs.c.realm_id == realm_id, sync_runs.c.status == "ok")
                    .order_by(desc(sync_runs.c.id))
                    .limit(1)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return RunRecord(
            row["realm_id"],
            row["kind"],
            row["started_at"],
            row["finished_at"],
            row["status"],
            row["rows"] or {},
            row["requests"],
            row["notes"],
        )

    def record_error_dto(
        self, dto: dict[str, Any], realm_id: str | None, entity: str | None, operation: str
    ) -> None:
        """An error DTO of the connector's own (pre-flight, conflicts): the same table as QBO's faults."""
        details = dto.get("details") or []
        values = {
            "code": dto["code"],
            "message": redact(dto["message"])[:2000],
            "element": details[0].get("field") if details else None,
            "intuit_tid": None,
            "details": details,
        }
        self._insert_error(values, realm_id, entity, operation)

    # pushes ------------------------------------------------------------------------------------
    def record_push(self, **values: Any) -> None:
        """One operation's outcome; recording the same (request_id, bid) again replaces it (a resent
        batch gets QBO's replayed answer)."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(push_results).where(
                    push_results.c.request_id == values["request_id"], push_results.c.bid == values["bid"]
                )
            )
            conn.execute(insert(push_results).values(**values))

    def push_results(
        self, *, landed: bool | None = None, realm_id: str | None = None
    ) -> list[dict[str, Any]]:
        query = select(push_results).order_by(push_results.c.id)
        if landed is not None:
            query = query.where(push_results.c.landed == landed)
        if realm_id is not None:
            query = query.where(push_results.c.realm_id == realm_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def mark_landed(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                conn.execute(
                    update(push_results)
                    .where(push_results.c.id.in_(ids[start : start + 500]))
                    .values(landed=True)
                )

    def created_links(self, realm_id: str) -> dict[tuple[str, str, str], str]:
        """(entity, tenant, platform id) -> QBO Id of every record pushes created in the realm."""
        return {
            (r["entity"], r["tenant_id"], r["platform_id"]): r["qbo_id"]
            for r in self.push_results(realm_id=realm_id)
            if r["outcome"] == "ok" and r["operation"] == "create" and r["qbo_id"]
        }

    def pushed(self) -> dict[tuple[str, str, str, str], str]:
        """(entity, tenant, platform id, payload hash) -> what QBO last said of that very payload."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    push_results.c.entity,
                    push_results.c.tenant_id,
                    push_results.c.platform_id,
                    push_results.c.payload_hash,
                    push_results.c.outcome,
                ).order_by(push_results.c.id)
            ).all()
        return {(e, t, p, h): outcome for e, t, p, h, outcome in rows}

    # approvals ---------------------------------------------------------------------------------
    def approve(
        self, tenant_id: str, entity: str, platform_id: str, operation: str, approved_by: str
    ) -> bool:
        """Record an approval; False when it was already approved."""
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(approvals.c.id).where(
                    approvals.c.tenant_id == tenant_id,
                    approvals.c.entity == entity,
                    approvals.c.platform_id == platform_id,
                    approvals.c.operation == operation,
                )
            ).first()
            if existing:
                return False
            conn.execute(
                insert(approvals).values(
                    tenant_id=tenant_id,
                    entity=entity,
                    platform_id=platform_id,
                    operation=operation,
                    approved_by=approved_by,
                    approved_at=datetime.now(UTC),
                )
            )
        return True

    def approved(self) -> set[tuple[str, str, str, str]]:
        """(entity, tenant, platform id, operation) of approved destructive operations."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    approvals.c.entity, approvals.c.tenant_id, approvals.c.platform_id, approvals.c.operation
                )
            ).all()
        return {tuple(r) for r in rows}  # type: ignore[misc]

    def pending_drafts(self) -> list[dict[str, Any]]:
        """Writes `qbo ask` drafted that wait for a person (`qbo approve --draft N`)."""
        query = select(intent_writes).where(intent_writes.c.status == "pending").order_by(intent_writes.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def errors(self, realm_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = select(integration_errors).order_by(desc(integration_errors.c.id)).limit(limit)
        if realm_id is not None:
            query = query.where(integration_errors.c.realm_id == realm_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]
