"""The token store (DESIGN decision 4): one row per connected realm, tokens encrypted at rest.

- **Encryption**: `MultiFernet` over a list of keys; the first encrypts, all decrypt, so a key is
  rotated by putting a new one first, calling `rotate_keys()`, then dropping the old one. Each
  ciphertext is bound to its realm and kind (access/refresh), so a row copied onto another realm
  does not decrypt into a usable token (decision 1: nothing of realm A is used for realm B).
- **One writer per realm across processes**: `locked()` opens the token row's transaction under a
  write lock — SQLite `BEGIN IMMEDIATE` (the database's single write lock), PostgreSQL
  `SELECT ... FOR UPDATE` (that row only) — and hands back the row as read inside the lock, so a
  refresher sees what another process has just written (the manager in `tokens.py` relies on it).
- **`invalid_grant`**: the row is *kept* and marked `reconnect_required` (with the reason and
  time). Deleting it would forget which tenant owns the realm and hide the problem: `list()` and
  `qbo status` show which companies need a person to reconnect them, syncs skip them with a clear
  error instead of "not connected", and a successful `save()` (the reconnect) clears the mark.
- Tokens are never in a repr, a log line or an exception text; `list()` returns records without them.
- **The row is SPEC §2.3's token record** (decision 14): `id` (uuid, stable for the realm's row),
  `tenant_id`, `realm_id`, the tokens (encrypted), both expiries, `scopes` (space-separated, OAuth's
  list form), `created_at` (first connect; kept by refreshes and reconnects), `updated_at` (every
  refresh, reconnect or status change; not a key rotation, which changes no value). `to_spec()` is
  the §2.3 JSON, camelCase, without the tokens unless asked. Extensions: the hard expiry, `status`,
  `status_reason`. `realm_id` stays the primary key: one consent per company, the lock's key.
- **Upgrades in place**: `create_schema()` adds what an older table lacks under the lock that
  serialises creation, so processes opening an old store together upgrade it once. Rows keep their
  tokens and get a fresh `id`; missing times come from the row (`updated_at`, `created_at`, else its
  access token's issue), missing scopes are the accounting scope the connector always asks for.
  PostgreSQL alters the table, SQLite rebuilds it (its recipe): either way it is a new one's equal.

The lock is held while Intuit answers the refresh (typically well under a second). On SQLite that
blocks the file's other writers for that time; PostgreSQL locks only the realm's row.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
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
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, RowMapping, make_url
from sqlalchemy.pool import StaticPool

from sources.quickbooks.errors import ReconnectRequired
from sources.quickbooks.oauth import ACCOUNTING_SCOPE, TokenSet, reconnect_hint

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///var/integration.sqlite"
ACTIVE = "active"
RECONNECT_REQUIRED = "reconnect_required"

_IMMEDIATE = "qbo_sqlite_begin_immediate"
_SEP = "\x1f"


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
    Column("access_token_expires_at", UTCDateTime(), nullable=False),
    Column("refresh_token_expires_at", UTCDateTime(), nullable=False),
    Column("scopes", Text, nullable=False),  # a list, space-separated as in OAuth
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # extensions
    Column("refresh_token_hard_expires_at", UTCDateTime(), nullable=True),
    Column("status", String(32), nullable=False),  # active | reconnect_required
    Column("status_reason", Text, nullable=True),
    UniqueConstraint("id", name="uq_qbo_tokens_id"),
)
# what an upgrade cannot make up: a table without these is not a token table of this connector
_CORE = ("realm_id", "tenant_id", "access_token_encrypted", "refresh_token_encrypted")
_CORE += ("access_token_expires_at", "refresh_token_expires_at")


class TokenStoreError(Exception):
    """The token store cannot do what was asked (bad key, tampered row, realm of another tenant)."""


class NotConnected(ReconnectRequired):
    """No tokens are stored for the realm: it was never connected, or was disconnected."""


@dataclass(frozen=True)
class TokenRecord:
    """A stored connection, without its tokens: SPEC §2.3's fields and the connector's extensions."""

    id: str
    tenant_id: str
    realm_id: str
    access_token_expires_at: datetime
    refresh_token_expires_at: datetime
    scopes: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    refresh_token_hard_expires_at: datetime | None
    status: str
    status_reason: str | None

    @property
    def needs_reconnect(self) -> bool:
        return self.status != ACTIVE

    def to_spec(self, *, access_token: str | None = None, refresh_token: str | None = None) -> dict[str, Any]:
        """The §2.3 JSON object (camelCase; extensions after the spec's fields). The tokens are in it
        only when passed (`TokenStore.to_spec(..., include_tokens=True)`): never by default."""
        spec: dict[str, Any] = {"id": self.id, "tenantId": self.tenant_id, "realmId": self.realm_id}
        if access_token is not None:
            spec["accessToken"] = access_token
        if refresh_token is not None:
            spec["refreshToken"] = refresh_token
        return spec | {
            "accessTokenExpiresAt": _iso(self.access_token_expires_at),
            "refreshTokenExpiresAt": _iso(self.refresh_token_expires_at),
            "scopes": list(self.scopes),
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at),
            "refreshTokenHardExpiresAt": _iso(self.refresh_token_hard_expires_at),
            "status": self.status,
            "statusReason": self.status_reason,
        }

    @classmethod
    def from_row(cls, row: RowMapping) -> TokenRecord:
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            realm_id=row["realm_id"],
            access_token_expires_at=row["access_token_expires_at"],
            refresh_token_expires_at=row["refresh_token_expires_at"],
            scopes=tuple((row["scopes"] or "").split()),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            refresh_token_hard_expires_at=row["refresh_token_hard_expires_at"],
            status=row["status"],
            status_reason=row["status_reason"],
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def generate_key() -> str:
    """A new encryption key for the token store (put it first in the key list)."""
    return Fernet.generate_key().decode("ascii")


def _fernet(keys: Sequence[str | bytes] | str) -> MultiFernet:
    if isinstance(keys, str | bytes):
        raw = keys.decode() if isinstance(keys, bytes) else keys
        keys = [k for k in raw.replace(",", " ").split() if k]
    if not keys:
        raise TokenStoreError(
            "no token encryption key configured; generate one with "
            "python -c 'from sources.quickbooks.token_store import generate_key; print(generate_key())'"
        )
    fernets = []
    for n, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise TokenStoreError(
                f"token encryption key #{n} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return MultiFernet(fernets)


class LockedTokens:
    """A realm's row inside the write-locked transaction of `TokenStore.locked()`."""

    def __init__(self, store: TokenStore, conn: Connection, realm_id: str, row: RowMapping | None) -> None:
        self._store = store
        self._conn = conn
        self.realm_id = realm_id
        self._row = row

    def __repr__(self) -> str:
        return f"LockedTokens(realm_id={self.realm_id!r}, record={self.record!r})"

    @property
    def record(self) -> TokenRecord | None:
        return TokenRecord.from_row(self._row) if self._row is not None else None

    def access_token(self) -> str:
        return self._store._decrypt(self._required()["access_token_encrypted"], self.realm_id, "access")

    def refresh_token(self) -> str:
        return self._store._decrypt(self._required()["refresh_token_encrypted"], self.realm_id, "refresh")

    def write(self, tenant_id: str, tokens: TokenSet, now: datetime) -> TokenRecord:
        """Insert or replace the tokens (rotated refresh token included); clears a reconnect mark."""
        values = {
            "tenant_id": tenant_id,
            "access_token_encrypted": self._store._encrypt(tokens.access_token, self.realm_id, "access"),
            "refresh_token_encrypted": self._store._encrypt(tokens.refresh_token, self.realm_id, "refresh"),
            "access_token_expires_at": tokens.access_token_expires_at,
            "refresh_token_expires_at": tokens.refresh_token_expires_at,
            "refresh_token_hard_expires_at": tokens.refresh_token_hard_expires_at,
            "scopes": " ".join(tokens.scopes),
            "status": ACTIVE,
            "status_reason": None,
            "updated_at": now,
        }
        table = tokens_table
        if self._row is None:
            first = {"id": str(uuid.uuid4()), "realm_id": self.realm_id, "created_at": now}
            self._conn.execute(insert(table).values(**first, **values))
        else:  # a refresh or a reconnect of the realm: its id and created_at stay
            if tokens.refresh_token_hard_expires_at is None:  # Intuit omitted it: keep the one we know
                values.pop("refresh_token_hard_expires_at")
            self._conn.execute(update(table).where(table.c.realm_id == self.realm_id).values(**values))
        self._reload()
        assert self.record is not None
        return self.record

    def mark_reconnect(self, reason: str, now: datetime) -> None:
        if self._row is None:
            return
        table = tokens_table
        self._conn.execute(
            update(table)
            .where(table.c.realm_id == self.realm_id)
            .values(status=RECONNECT_REQUIRED, status_reason=reason, updated_at=now)
        )
        self._reload()

    def rotate_key(self) -> None:
        """Re-encrypt with the first key. `updated_at` stays: no value of the record changes, and it
        dates a reconnect mark ("since ...")."""
        row = self._required()
        fernet = self._store._fernet
        try:
            values = {
                "access_token_encrypted": fernet.rotate(row["access_token_encrypted"].encode()).decode(),
                "refresh_token_encrypted": fernet.rotate(row["refresh_token_encrypted"].encode()).decode(),
            }
        except InvalidToken:
            raise self._store._undecryptable(self.realm_id) from None
        table = tokens_table
        self._conn.execute(update(table).where(table.c.realm_id == self.realm_id).values(**values))
        self._reload()

    def delete(self) -> bool:
        deleted = self._conn.execute(delete(tokens_table).where(tokens_table.c.realm_id == self.realm_id))
        self._row = None
        return deleted.rowcount > 0

    def _required(self) -> RowMapping:
        if self._row is None:
            raise NotConnected(
                "not_connected",
                f"realm {self.realm_id} is not connected; connect it: {reconnect_hint(self.realm_id)}",
            )
        return self._row

    def _reload(self) -> None:
        table = tokens_table
        self._row = (
            self._conn.execute(select(table).where(table.c.realm_id == self.realm_id)).mappings().first()
        )


class TokenStore:
    """Encrypted token rows in a SQLAlchemy database: a SQLite file by default, PostgreSQL by URL."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        keys: Sequence[str | bytes] | str,
        lock_timeout: float = 120.0,
        create: bool = True,
    ) -> None:
        self._fernet = _fernet(keys)
        self.lock_timeout = lock_timeout
        self.engine = _engine(url, lock_timeout)
        self.dialect = self.engine.dialect.name
        self._thread_locks: dict[str, threading.Lock] = {}
        self._thread_locks_guard = threading.Lock()
        if create:
            self.create_schema()

    def __repr__(self) -> str:
        return f"TokenStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def create_schema(self) -> None:
        """Create the table if it is missing, or upgrade one of an older layout in place; serialised, so
        processes starting together neither race nor upgrade twice (the next one finds nothing to do)."""
        with self._transaction(lock=True) as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('qbo_tokens schema'))"))
            metadata.create_all(conn, checkfirst=True)
            _upgrade(conn)

    def dispose(self) -> None:
        self.engine.dispose()

    # the write lock -------------------------------------------------------------------------------

    @contextmanager
    def locked(self, realm_id: str) -> Iterator[LockedTokens]:
        """The realm's row, write-locked across threads and processes until the block ends (then committed).

        An exception inside the block rolls everything back.
        """
        with self._thread_lock(realm_id), self._transaction(lock=True) as conn:
            table = tokens_table
            query = select(table).where(table.c.realm_id == realm_id).with_for_update()
            row = conn.execute(query).mappings().first()
            if row is None and self.dialect == "postgresql":
                # FOR UPDATE locks nothing when the row does not exist yet: serialise first connections too
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"qbo_tokens:{realm_id}"}
                )
                row = conn.execute(query).mappings().first()
            yield LockedTokens(self, conn, realm_id, row)

    @contextmanager
    def _transaction(self, lock: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if lock and self.dialect == "sqlite":
                conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if lock and self.dialect == "postgresql":
                    conn.execute(text(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'"))
                yield conn

    def _thread_lock(self, realm_id: str) -> threading.Lock:
        with self._thread_locks_guard:
            return self._thread_locks.setdefault(realm_id, threading.Lock())

    # reads and writes -----------------------------------------------------------------------------

    def get(self, realm_id: str) -> TokenRecord | None:
        row = self._row(realm_id)
        return TokenRecord.from_row(row) if row is not None else None

    def current(self, realm_id: str) -> tuple[TokenRecord, str] | None:
        """The record and its decrypted access token, read without the lock (for the fast path)."""
        row = self._row(realm_id)
        if row is None:
            return None
        return TokenRecord.from_row(row), self._decrypt(row["access_token_encrypted"], realm_id, "access")

    def to_spec(self, realm_id: str, *, include_tokens: bool = False) -> dict[str, Any] | None:
        """The realm's §2.3 token record as JSON; the decrypted tokens only when `include_tokens`."""
        row = self._row(realm_id)
        if row is None:
            return None
        if not include_tokens:
            return TokenRecord.from_row(row).to_spec()
        return TokenRecord.from_row(row).to_spec(
            access_token=self._decrypt(row["access_token_encrypted"], realm_id, "access"),
            refresh_token=self._decrypt(row["refresh_token_encrypted"], realm_id, "refresh"),
        )

    def save(
        self, tenant_id: str, realm_id: str, tokens: TokenSet, *, now: datetime | None = None
    ) -> TokenRecord:
        """Store a (re)connection's tokens. A realm already connected for another tenant is refused."""
        with self.locked(realm_id) as row:
            existing = row.record
            if existing is not None and existing.tenant_id != tenant_id:
                raise TokenStoreError(
                    f"realm {realm_id} is connected for tenant {existing.tenant_id!r}, not {tenant_id!r}; "
                    "disconnect it there first"
                )
            record = row.write(tenant_id, tokens, now or datetime.now(UTC))
        log.info("stored tokens of realm %s for tenant %s", realm_id, tenant_id)
        return record

    def delete(self, realm_id: str) -> bool:
        with self.locked(realm_id) as row:
            deleted = row.delete()
        if deleted:
            log.info("deleted tokens of realm %s", realm_id)
        return deleted

    def rotate_keys(self) -> int:
        """Re-encrypt every row with the first key; returns how many rows. Then older keys can go."""
        count = 0
        for record in self.list():
            with self.locked(record.realm_id) as row:
                if row.record is not None:
                    row.rotate_key()
                    count += 1
        log.info("re-encrypted the tokens of %d realm(s) with the first key", count)
        return count

    def _row(self, realm_id: str) -> RowMapping | None:
        with self._transaction(lock=False) as conn:
            table = tokens_table
            return conn.execute(select(table).where(table.c.realm_id == realm_id)).mappings().first()

    # crypto ---------------------------------------------------------------------------------------

    def _encrypt(self, token: str, realm_id: str, kind: str) -> str:
        return self._fernet.encrypt(f"{realm_id}{_SEP}{kind}{_SEP}{token}".encode()).decode("ascii")

    def _decrypt(self, ciphertext: str, realm_id: str, kind: str) -> str:
        try:
            plain = self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise self._undecryptable(realm_id) from None
        bound_realm, bound_kind, token = [*plain.split(_SEP, 2), "", ""][:3]
        if bound_realm != realm_id or bound_kind != kind:
            raise TokenStoreError(
                f"the stored {kind} token of realm {realm_id} belongs to another realm or field: "
                "the row was altered; reconnect the realm"
            )
        return token

    def _undecryptable(self, realm_id: str) -> TokenStoreError:
        return TokenStoreError(
            f"the tokens of realm {realm_id} cannot be decrypted with the configured keys: keep the old key "
            "in the key list (new key first) until rotate_keys() has run"
        )

    def list(self, tenant_id: str | None = None) -> list[TokenRecord]:  # last: the name shadows `list`
        """Every stored connection (of one tenant, if given), without token values."""
        table = tokens_table
        query = select(table).order_by(table.c.tenant_id, table.c.realm_id)
        if tenant_id is not None:
            query = query.where(table.c.tenant_id == tenant_id)
        with self._transaction(lock=False) as conn:
            return [TokenRecord.from_row(row) for row in conn.execute(query).mappings()]


# upgrading a table of an older layout (inside `create_schema()`'s lock) -------------------------------


def _upgrade(conn: Connection) -> None:
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


def _engine(url: str, lock_timeout: float) -> Engine:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # the installed driver is psycopg 3
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    memory = parsed.database in (None, "", ":memory:")
    if not memory:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        hide_parameters=True,  # database errors must not quote the (encrypted) token values
        connect_args={"timeout": lock_timeout, "check_same_thread": False},
        **({"poolclass": StaticPool} if memory else {}),
    )

    # SQLAlchemy's recipe for real SQLite transactions: the driver issues no BEGIN of its own, we do,
    # and `BEGIN IMMEDIATE` takes the database's write lock at once (waiting up to `timeout`).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        if not memory:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for a refresh in progress
            except Exception:  # noqa: S110 - another process switching it at the same moment
                pass
            finally:
                cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_IMMEDIATE) else "BEGIN")

    return engine
