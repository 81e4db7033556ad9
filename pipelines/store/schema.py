"""The integration store's tables, and the engine they live in (DESIGN decision 10).

Operational state (sync runs, errors, webhook events, published references, push outcomes,
approvals, drafted writes and their audit) lives here, never in the warehouse, so the web service and
the flows can write it while DuckDB is busy: SQLite file by default, PostgreSQL by URL. Each table
family has its one module in this package; no other module writes these tables.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url

from sources.quickbooks.token_schema import UTCDateTime

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
    Column("status", String(16), nullable=False, index=True),  # pending | claimed | done | ignored | failed
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

# what the gateway knows of QBO without the warehouse (store/references.py)
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

# what QBO changed, as platform DTOs, for the platform to read (store/outbox.py)
outbox = Table(
    "qbo_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the platform's cursor
    Column("change_id", String(64), nullable=False, unique=True),  # one QBO change is stored once
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("realm_id", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("operation", String(16), nullable=False),  # upsert | delete | merge | void
    Column("qbo_id", String(64), nullable=False),
    Column("platform_id", String(64)),  # when linked
    Column("dto", JSON, nullable=False),  # the platform DTO, camelCase, with qboId and qboSyncToken
    Column("created_at", UTCDateTime(), nullable=False),
)

# how far each tenant's platform has read the outbox
outbox_cursors = Table(
    "qbo_outbox_cursors",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("cursor", Integer, nullable=False),
    Column("acknowledged_at", UTCDateTime(), nullable=False),
)


# what the last transform left for a person to decide, one row per queue entry (store/review.py)
review_items = Table(
    "qbo_review_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "queue", String(16), nullable=False, index=True
    ),  # conflict | drift | candidate | approval | issue
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("realm_id", String(32)),
    Column("entity", String(32), nullable=False),
    Column("platform_id", String(64)),
    Column("qbo_id", String(64)),
    Column("field", String(64)),  # the drifted field, the operation of an approval, the issue
    Column("action", String(32)),  # push | pull | review | confirm | void | deactivate | ...
    Column("label", String(256)),  # what a person calls the record: a name, or "Invoice 1042"
    Column("party", String(256)),  # the customer or vendor
    Column("amount", Numeric(18, 2)),
    Column("currency", String(3)),
    Column("changed_at", UTCDateTime()),  # the later of both sides' changes: the age of the entry
    Column("platform_value", Text),
    Column("qbo_value", Text),
    Column("version", String(64), nullable=False),  # what a decision must have seen (store/review.py)
    Column("data", JSON),  # the rest a page shows (score, what to do, ...)
    Column("published_at", UTCDateTime(), nullable=False),
)

# both sides of each record under review, for its page
review_records = Table(
    "qbo_review_records",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("entity", String(32), primary_key=True),
    Column("platform_id", String(64), primary_key=True),
    Column("qbo_id", String(64), primary_key=True),
    Column("realm_id", String(32)),
    Column("label", String(256)),
    Column("detail", JSON, nullable=False),  # {"fields": [...], "lines": {...}}
    Column("published_at", UTCDateTime(), nullable=False),
)

# the queues' sizes at each publish: the overview's trend since the last runs
review_snapshots = Table(
    "qbo_review_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("published_at", UTCDateTime(), nullable=False, index=True),
    Column("tenant_id", String(64), nullable=False),
    Column("queue", String(16), nullable=False),
    Column("entries", Integer, nullable=False),
)

# what people decided (DESIGN decision 10: operational state); deleted only once final (pushed or revoked)
# and past `[retention] decisions_days`; revoked and superseded ones stay until then
sync_decisions = Table(
    "qbo_sync_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("realm_id", String(32)),
    Column("entity", String(32), nullable=False),
    Column("platform_id", String(64), nullable=False),
    Column("qbo_id", String(64)),
    Column(
        "kind", String(16), nullable=False
    ),  # resolve | confirm | reject_match | approve | reject | acknowledge
    Column("field", String(64)),  # the resolved field, the approved operation, the acknowledged issue
    Column("choice", String(16)),  # resolve: platform | qbo | value
    Column("value", Text),  # the value a person entered (choice value): QBO gets it, then the platform
    Column("platform_value", Text),  # what each side had when the person decided
    Column("qbo_value", Text),
    Column("version", String(64)),  # the review item's version the person saw
    Column("reviewer", String(128), nullable=False),
    Column("reason", Text),
    Column("decided_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_by", String(128)),
    Column("pushed_at", UTCDateTime()),  # sent to QBO: no longer reversible
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
    """JSON columns hold QBO documents, whose money is Decimal (client.decimal_json): as JSON numbers.
    A non-finite number (NaN, Infinity: Python's json reads them) is kept as text, which PostgreSQL's
    JSON columns accept where they refuse the bare literal."""
    return json.dumps(
        json_safe(value), default=lambda v: float(v) if isinstance(v, Decimal) else str(v), allow_nan=False
    )


def json_safe(value: Any) -> Any:
    """NaN and Infinity as text: JSON has no such numbers, and PostgreSQL refuses the column."""
    if isinstance(value, float | Decimal) and not (
        math.isfinite(value) if isinstance(value, float) else value.is_finite()
    ):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(inner) for inner in value]
    return value


# what the retention job (pipelines/retention.py) asks of the biggest families: is there a later row of
# the same record? (IntegrationStore adds them to a store made before them)
Index("qbo_push_results_record", push_results.c.entity, push_results.c.tenant_id, push_results.c.platform_id)
Index("qbo_outbox_record", outbox.c.realm_id, outbox.c.entity, outbox.c.qbo_id, outbox.c.operation)
