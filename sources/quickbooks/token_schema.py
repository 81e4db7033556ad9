"""The token store's tables: the token rows (SPEC §2.3) and the OAuth `state` nonces already used.

Both live on one `MetaData`, so `TokenStore.create_schema()` creates them together, in the store's
own database. The token table's times are read leniently: a row whose stored time cannot be parsed
yields an `Unreadable` marker instead of failing the whole query, so one damaged row is reported for
its realm (`TokenRecord.from_row` names it) and never hides the other realms.

A used nonce is kept until its state would have expired anyway (plus a day), then pruned: a replayed
`state` older than that is refused by its expiry before the nonce is even looked up.

Also here: the in-place upgrade of a token table of an older layout (`upgrade()`, see token_store.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sources.quickbooks.settings import ACCOUNTING_SCOPE, ENVIRONMENT_LABELS, environment_of

log = logging.getLogger("sources.quickbooks.token_store")


class TokenStoreError(Exception):
    """The token store cannot do what was asked (bad key, tampered row, realm of another tenant)."""


ACTIVE = "active"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (naive text) and PostgreSQL (timestamptz)."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("token store times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class QboLocation:
    """Where a realm was connected, kept with its tokens: every later command talks to that QBO (the API
    and the OAuth endpoints its refresh token belongs to) unless told otherwise (`--qbo-base-url`)."""

    environment: str  # sources.quickbooks.settings: production | intuit_sandbox | local_sandbox | other
    api_base_url: str
    discovery_url: str

    @classmethod
    def of(cls, api_base_url: str, discovery_url: str) -> QboLocation:
        base = api_base_url.rstrip("/")
        return cls(environment_of(base), base, discovery_url)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> QboLocation | None:
        """The row's location; None for a row stored before locations were kept."""
        if not row.get("api_base_url") or not row.get("discovery_url"):
            return None
        environment = row.get("environment") or environment_of(row["api_base_url"])
        return cls(environment, row["api_base_url"], row["discovery_url"])

    @property
    def label(self) -> str:
        """As `qbo status` shows it: "local sandbox http://127.0.0.1:8765"."""
        return f"{ENVIRONMENT_LABELS.get(self.environment, self.environment)} {self.api_base_url}"

    def columns(self) -> dict[str, str]:
        return {
            "environment": self.environment,
            "api_base_url": self.api_base_url,
            "discovery_url": self.discovery_url,
        }


@dataclass(frozen=True)
class Unreadable:
    """A stored value that is not what its column holds (a time that does not parse)."""

    raw: str

    def __str__(self) -> str:
        return self.raw[:40]


class TokenTime(UTCDateTime):
    """`UTCDateTime` for the token table: an unparseable stored time reads as `Unreadable`, not an error."""

    cache_ok = True

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], Any] | None:
        strict = super().result_processor(dialect, coltype)

        def lenient(value: Any) -> Any:
            try:
                return strict(value) if strict is not None else value
            except (ValueError, TypeError, OverflowError):
                return Unreadable(repr(value))

        return lenient


metadata = MetaData()
tokens_table = Table(
    "qbo_tokens",
    metadata,
    # SPEC §2.3 (camelCase in `TokenRecord.to_spec()`)
    Column("id", Uuid(as_uuid=False), nullable=False),  # set at first connect, stable for the row
    Column("realm_id", String(32), primary_key=True),  # unique: one consent per company
    Column("tenant_id", String(255), nullable=False, index=True),
    Column("access_token_encrypted", Text, nullable=False),  # accessToken, encrypted at rest
    Column("refresh_token_encrypted", Text, nullable=False),  # refreshToken, encrypted at rest
    Column("access_token_expires_at", TokenTime(), nullable=False),
    Column("refresh_token_expires_at", TokenTime(), nullable=False),
    Column("scopes", Text, nullable=False),  # a list, space-separated as in OAuth
    Column("created_at", TokenTime(), nullable=False),
    Column("updated_at", TokenTime(), nullable=False),
    # extensions
    Column("refresh_token_hard_expires_at", TokenTime(), nullable=True),
    Column("status", String(32), nullable=False),  # active | reconnect_required
    Column("status_reason", Text, nullable=True),
    # where the realm was connected (NULL in rows stored before it was kept: the configured QBO is used)
    Column("environment", String(32), nullable=True),  # production | intuit_sandbox | local_sandbox | other
    Column("api_base_url", Text, nullable=True),
    Column("discovery_url", Text, nullable=True),  # the OAuth endpoints its tokens refresh at
    UniqueConstraint("id", name="uq_qbo_tokens_id"),
)
# what an upgrade cannot make up: a table without these is not a token table of this connector
_CORE = ("realm_id", "tenant_id", "access_token_encrypted", "refresh_token_encrypted")
_CORE += ("access_token_expires_at", "refresh_token_expires_at")


TIME_COLUMNS = tuple(c.name for c in tokens_table.columns if isinstance(c.type, TokenTime))

# the nonce of every OAuth `state` a callback has used: a state works once
used_states_table = Table(
    "qbo_oauth_used_states",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("tenant_id", String(255), nullable=False),
    Column("used_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),  # the state's own expiry
)
NONCE_KEPT_AFTER_EXPIRY = timedelta(days=1)


def spend_nonce(conn: Connection, nonce: str, tenant_id: str, expires_at: datetime, now: datetime) -> bool:
    """Record a state's nonce as used; False when it already was (a replay). Prunes long-dead nonces.

    The insert is the check: two callbacks racing with one state cannot both succeed (primary key)."""
    table = used_states_table
    conn.execute(delete(table).where(table.c.expires_at < now - NONCE_KEPT_AFTER_EXPIRY))
    try:
        with conn.begin_nested():
            conn.execute(
                insert(table).values(nonce=nonce, tenant_id=tenant_id, used_at=now, expires_at=expires_at)
            )
    except IntegrityError:
        return False
    return True


# upgrading a table of an older layout (inside `create_schema()`'s lock) -------------------------------


def upgrade(conn: Connection) -> None:
    """Bring a token table of an older layout up to this one (inside `create_schema()`'s lock)."""
    table = tokens_table
    present = {column["name"] for column in inspect(conn).get_columns(table.name)}
    missing = [column for column in table.columns if column.name not in present]
    if not missing:
        return
    lacking = [name for name in _CORE if name not in present]
    unknown = sorted(present - set(table.columns.keys()))
    if lacking or (unknown and conn.dialect.name == "sqlite"):  # a rebuild would lose unknown columns
        raise TokenStoreError(
            f"table {table.name} has a layout this version cannot upgrade (lacks {lacking}, has unknown "
            f"{unknown}); point the store at another database or upgrade the table by hand"
        )
    kept = [column for column in table.columns if column.name in present]
    rows = [_backfilled(dict(row), missing) for row in conn.execute(select(*kept)).mappings()]
    added = ", ".join(column.name for column in missing)
    log.info("upgrading the token table %s in place: adding %s to %d row(s)", table.name, added, len(rows))
    if conn.dialect.name == "sqlite":
        _rebuild_sqlite(conn, rows)
    else:
        _alter(conn, missing, rows)


def _backfilled(row: dict[str, Any], missing: Sequence[Column[Any]]) -> dict[str, Any]:
    """The row with values for the columns it lacks, from what it has."""
    issued = row["access_token_expires_at"] - timedelta(hours=1)  # Intuit's access tokens live an hour
    written = row.get("updated_at") or row.get("created_at") or issued
    fills = {
        "id": str(uuid.uuid4()),
        "scopes": ACCOUNTING_SCOPE,  # the one scope the connector asks for
        "created_at": row.get("created_at") or written,
        "updated_at": written,
        "refresh_token_hard_expires_at": None,  # unknown: Intuit sends it again on the next refresh
        "status": ACTIVE,
        "status_reason": None,
        "environment": None,  # unknown: the configured QBO is used until the realm is reconnected
        "api_base_url": None,
        "discovery_url": None,
    }
    return row | {column.name: fills[column.name] for column in missing}


def _rebuild_sqlite(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """SQLite's recipe for what ALTER TABLE cannot do (NOT NULL columns, constraints): a new table
    under the name, the rows copied, the old table dropped; in the store's transaction, like all DDL."""
    old = f"{tokens_table.name}_old_layout"
    conn.exec_driver_sql(f"ALTER TABLE {tokens_table.name} RENAME TO {old}")
    for index in inspect(conn).get_indexes(old):  # renamed with their table, still named for the new one
        conn.exec_driver_sql(f'DROP INDEX "{index["name"]}"')
    metadata.create_all(conn)
    if rows:
        conn.execute(insert(tokens_table), rows)
    conn.exec_driver_sql(f"DROP TABLE {old}")


def _alter(conn: Connection, missing: Sequence[Column[Any]], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: add the columns, fill them row by row, then make them as strict as a new table's."""
    table = tokens_table
    for column in missing:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
    for row in rows:
        fills = {column.name: row[column.name] for column in missing}
        conn.execute(update(table).where(table.c.realm_id == row["realm_id"]).values(fills))
    for column in missing:
        if not column.nullable:
            conn.execute(text(f"ALTER TABLE {table.name} ALTER COLUMN {column.name} SET NOT NULL"))
    added = {column.name for column in missing}
    for unique in table.constraints:  # by hand: AddConstraint would leave it out of later CREATE TABLEs
        if isinstance(unique, UniqueConstraint) and added & set(names := unique.columns.keys()):
            conn.exec_driver_sql(
                f"ALTER TABLE {table.name} ADD CONSTRAINT {unique.name} UNIQUE ({','.join(names)})"
            )
    for index in table.indexes:
        index.create(conn, checkfirst=True)
