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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import (
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, RowMapping, make_url
from sqlalchemy.pool import StaticPool

from sources.quickbooks.errors import ReconnectRequired
from sources.quickbooks.oauth import TokenSet, reconnect_hint
from sources.quickbooks.token_keys import KeyProblem, fernet_of, generate_key
from sources.quickbooks.token_schema import (  # re-exported: the store's tables are imported from here
    ACTIVE,
    TIME_COLUMNS,
    QboLocation,
    TokenStoreError,
    Unreadable,
    UTCDateTime,
    metadata,
    spend_nonce,
    tokens_table,
    upgrade,
    used_states_table,
)

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///var/integration.sqlite"
RECONNECT_REQUIRED = "reconnect_required"
UNREADABLE = "unreadable"  # never stored: a row `list()` could not read (damaged time, undecryptable)

_IMMEDIATE = "qbo_sqlite_begin_immediate"
_SEP = "\x1f"
__all__ = [
    "ACTIVE",
    "KeyProblem",
    "QboLocation",
    "TokenStoreError",
    "UTCDateTime",
    "generate_key",
    "metadata",
    "tokens_table",
    "used_states_table",
]  # and what is defined here


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
    location: QboLocation | None = None  # where it was connected; None: stored before that was kept

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
            "environment": self.location.environment if self.location else None,
            "apiBaseUrl": self.location.api_base_url if self.location else None,
        }

    @classmethod
    def from_row(cls, row: RowMapping) -> TokenRecord:
        """The row's record; a TokenStoreError naming the realm, the column and the fix when a stored
        time is unreadable (a damaged row)."""
        damaged = [name for name in TIME_COLUMNS if isinstance(row[name], Unreadable)]
        if damaged:
            realm = row["realm_id"]
            raise TokenStoreError(
                f"the token row of realm {realm} is damaged: its {damaged[0]} ({row[damaged[0]]}) is not "
                f"a time; replace the row by reconnecting the realm: {reconnect_hint(realm)}"
            )
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
            location=QboLocation.from_row(row),
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _readable(row: RowMapping, problem: str) -> TokenRecord:
    """A damaged row as a record `qbo status` can show: marked unreadable (so it needs a person and
    syncs of every realm skip it), its reason the one-line problem, unreadable times the epoch."""

    def time_of(name: str) -> datetime:
        value = row[name]
        return value if isinstance(value, datetime) else _EPOCH

    hard = row["refresh_token_hard_expires_at"]
    return TokenRecord(
        id=str(row["id"]),
        tenant_id=row["tenant_id"],
        realm_id=row["realm_id"],
        access_token_expires_at=time_of("access_token_expires_at"),
        refresh_token_expires_at=time_of("refresh_token_expires_at"),
        scopes=tuple((row["scopes"] or "").split()),
        created_at=time_of("created_at"),
        updated_at=time_of("updated_at"),
        refresh_token_hard_expires_at=hard if isinstance(hard, datetime) else None,
        status=UNREADABLE,
        status_reason=problem,
        location=QboLocation.from_row(row),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


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

    @property
    def owner(self) -> str | None:
        """The tenant the realm is connected for, read even from a damaged row."""
        return str(self._row["tenant_id"]) if self._row is not None else None

    def access_token(self) -> str:
        return self._store._decrypt(self._required()["access_token_encrypted"], self.realm_id, "access")

    def refresh_token(self) -> str:
        return self._store._decrypt(self._required()["refresh_token_encrypted"], self.realm_id, "refresh")

    def write(
        self, tenant_id: str, tokens: TokenSet, now: datetime, location: QboLocation | None = None
    ) -> TokenRecord:
        """Insert or replace the tokens (rotated refresh token included); clears a reconnect mark. A
        (re)connection gives its `location`; a refresh gives none and the stored one stays."""
        values: dict[str, Any] = location.columns() if location is not None else {}
        values |= {
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
        else:  # a refresh or a reconnect of the realm: its id and created_at stay (unless damaged)
            known_hard = self._row["refresh_token_hard_expires_at"]
            if tokens.refresh_token_hard_expires_at is None and not isinstance(known_hard, Unreadable):
                values.pop("refresh_token_hard_expires_at")  # Intuit omitted it: keep the one we know
            if isinstance(self._row["created_at"], Unreadable):
                values["created_at"] = now
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
        self.lock_timeout = lock_timeout
        self.engine = _engine(url, lock_timeout)
        try:
            self._fernet = fernet_of(keys)
        except KeyProblem as exc:
            raise KeyProblem(f"{exc}{self._realms_left_unreadable()}") from None
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
            upgrade(conn)

    def dispose(self) -> None:
        self.engine.dispose()

    def _realms_left_unreadable(self) -> str:
        """For a key problem: which stored realms it leaves unreadable, and how to reconnect them."""
        try:
            with self._transaction(lock=False) as conn:
                realms = list(conn.execute(select(tokens_table.c.realm_id)).scalars())
        except Exception:  # no table yet, or the database is unreachable: nothing more to say
            realms = []
        finally:
            self.engine.dispose()
        if not realms:
            return ""
        shown = ", ".join(realms[:5]) + (" ..." if len(realms) > 5 else "")
        return (
            f"; or put back the key the tokens of realm(s) {shown} were stored with (with a new key, "
            f"reconnect each: {reconnect_hint(realms[0])})"
        )

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

    def owner(self, realm_id: str) -> str | None:
        """The tenant the realm is connected for (None: not connected), read even from a damaged row:
        a connection is checked against it before an authorization code is spent."""
        with self._transaction(lock=False) as conn:
            table = tokens_table
            found = conn.execute(select(table.c.tenant_id).where(table.c.realm_id == realm_id)).first()
        return str(found[0]) if found is not None else None

    def location(self, realm_id: str) -> QboLocation | None:
        """Where the realm was connected (None: not connected, or before locations were kept), read
        without decrypting: a damaged row's problem is for whoever needs its tokens to say."""
        table = tokens_table
        with self._transaction(lock=False) as conn:
            query = select(table.c.environment, table.c.api_base_url, table.c.discovery_url)
            found = conn.execute(query.where(table.c.realm_id == realm_id)).mappings().first()
        return QboLocation.from_row(found) if found is not None else None

    def spend_state(
        self, nonce: str, tenant_id: str, expires_at: datetime, *, now: datetime | None = None
    ) -> bool:
        """Record an OAuth state's nonce as used: True the first time, False for a replay."""
        with self._transaction(lock=True) as conn:
            return spend_nonce(conn, nonce, tenant_id, expires_at, now or datetime.now(UTC))

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
        self,
        tenant_id: str,
        realm_id: str,
        tokens: TokenSet,
        *,
        now: datetime | None = None,
        location: QboLocation | None = None,
    ) -> TokenRecord:
        """Store a (re)connection's tokens, and where it was made. A realm already connected for another
        tenant is refused."""
        with self.locked(realm_id) as row:
            owner = row.owner  # read raw: a damaged row is replaced by its own tenant's reconnect
            if owner is not None and owner != tenant_id:
                raise TokenStoreError(
                    f"realm {realm_id} is connected for tenant {owner!r}, not {tenant_id!r}; "
                    f"disconnect it there first (qbo disconnect --realm {realm_id})"
                )
            record = row.write(tenant_id, tokens, now or datetime.now(UTC), location)
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
                f"the row was altered; reconnect the realm: {reconnect_hint(realm_id)}"
            )
        return token

    def _undecryptable(self, realm_id: str) -> TokenStoreError:
        return TokenStoreError(
            f"the tokens of realm {realm_id} cannot be decrypted with the configured keys (a key is "
            "missing, or the row was altered): put the old key back in the key list (new key first) "
            f"until `qbo rotate-keys` has run, or reconnect the realm: {reconnect_hint(realm_id)}"
        )

    def list(self, tenant_id: str | None = None) -> list[TokenRecord]:  # last: the name shadows `list`
        """Every stored connection (of one tenant, if given), without token values."""
        table = tokens_table
        query = select(table).order_by(table.c.tenant_id, table.c.realm_id)
        if tenant_id is not None:
            query = query.where(table.c.tenant_id == tenant_id)
        with self._transaction(lock=False) as conn:
            rows = list(conn.execute(query).mappings())
        return [self._listed(row) for row in rows]

    def _listed(self, row: RowMapping) -> TokenRecord:
        """A row as `list()` shows it: one that cannot be read (damaged time, tokens that do not
        decrypt) is marked unreadable with the problem, instead of failing the other realms' listing."""
        try:
            record = TokenRecord.from_row(row)
            for kind in ("access", "refresh"):
                self._decrypt(row[f"{kind}_token_encrypted"], record.realm_id, kind)
        except TokenStoreError as exc:
            log.debug("%s", exc)  # shown once, by whoever lists (`qbo status`), not per listing
            return _readable(row, str(exc))
        return record


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
