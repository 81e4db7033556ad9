"""The request budget per (app, realm) (DESIGN decision 5): QBO's limits, shared by every process.

QBO answers 429 once an app exceeds ~500 requests/min or 10 requests in flight for one realm, and
batch calls count towards both and have their own 40/min (reference/QBO_API.md §6). Every process
that talks to a realm (sync, push, webhook worker) must draw from one budget, so it lives in a
shared backend: a SQLite file by default (no server needed), Redis or PostgreSQL when scaled out.

The per-minute limits are pyrate-limiter sliding-window buckets on that backend. pyrate-limiter
has no notion of "in flight", so the concurrency cap is a set of leases with an expiry beside the
buckets: a killed process loses its slots after `lease_ttl` instead of holding them forever.
"""

from __future__ import annotations

import hashlib
import random
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from pyrate_limiter import (
    AbstractBucket,
    Duration,
    Limiter,
    Rate,
    SingleBucketFactory,
    SQLiteBucket,
    SQLiteQueries,
)

_NAMESPACE = re.compile(r"[a-z][a-z0-9_]{0,19}")
_LEAK_EVERY = 10.0  # seconds between trims of expired bucket entries (what pyrate's Leaker thread does)
_POLL_MIN, _POLL_MAX = 0.02, 0.25  # lease polling backs off between these, so waiting never spins


class BudgetTimeout(TimeoutError):
    """No room in a realm's budget within `acquire_timeout`: the caller should give up, not retry hot."""

    def __init__(self, realm_id: str, what: str, timeout: float) -> None:
        self.realm_id, self.what, self.timeout = realm_id, what, timeout
        super().__init__(
            f"QBO request budget for realm {realm_id}: no {what} within {timeout:g}s "
            "(every process using this app and realm shares it; retry later or raise acquire_timeout)"
        )

    def __reduce__(self) -> tuple[type[BudgetTimeout], tuple[str, str, float]]:
        return BudgetTimeout, (self.realm_id, self.what, self.timeout)  # survives a trip between processes


class BudgetBackend(Protocol):
    """Shared store of one deployment's budgets: pyrate-limiter buckets plus in-flight leases."""

    def bucket(self, key: str, rates: list[Rate]) -> AbstractBucket:
        """A bucket over `key`'s shared log of requests (a new object each call: buckets hold state)."""
        ...

    def try_lease(self, key: str, holder: str, limit: int, ttl: float) -> bool:
        """Atomically drop expired leases of `key` and take one for `holder` if fewer than `limit` remain."""
        ...

    def release(self, key: str, holder: str) -> None: ...

    def close(self) -> None: ...


def _digest(key: str) -> str:
    """Short stable name for SQL identifiers: keys hold arbitrary app and realm ids."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _check_namespace(namespace: str) -> str:
    """Namespaces become SQL identifiers, so only a safe shape is accepted."""
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"budget namespace must match {_NAMESPACE.pattern}, got {namespace!r}")
    return namespace


_COLUMNS = "(key TEXT NOT NULL, holder TEXT NOT NULL, expires_at {time} NOT NULL, PRIMARY KEY (key, holder))"
_SQLITE_LEASES = {
    "create": "CREATE TABLE IF NOT EXISTS {table} " + _COLUMNS.replace("{time}", "REAL"),
    "expire": "DELETE FROM {table} WHERE key = ? AND expires_at < ?",
    "count": "SELECT COUNT(*) FROM {table} WHERE key = ?",
    "take": "INSERT INTO {table} VALUES (?, ?, ?)",
    "release": "DELETE FROM {table} WHERE key = ? AND holder = ?",
}


def _lease_sql(templates: dict[str, str], namespace: str) -> dict[str, str]:
    """The lease statements on `namespace`'s table (a checked identifier, never caller input)."""
    return {name: sql.format(table=f'"{namespace}_leases"') for name, sql in templates.items()}


class _SqliteTransactionLock:
    """Reentrant lock whose outermost hold is a `BEGIN IMMEDIATE` transaction.

    pyrate's SQLiteBucket counts then inserts under `with bucket.lock`; a thread lock only guards one
    process, so this lock takes SQLite's write lock too, making count-then-insert atomic across
    processes (the library's alternative needs the `filelock` package).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._thread_lock = threading.RLock()
        self._depth = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._thread_lock.acquire(blocking, timeout):
            return False
        self._depth += 1
        if self._depth == 1:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._depth -= 1
                self._thread_lock.release()
                raise
        return True

    def release(self, commit: bool = True) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._conn.in_transaction:
                self._conn.commit() if commit else self._conn.rollback()
        finally:
            self._thread_lock.release()

    def __enter__(self) -> _SqliteTransactionLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.release(commit=exc_type is None)


def _use_wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch the file to WAL once. Switching needs a moment alone with the file, and SQLite does not
    wait for that (busy timeout or not): processes opening the budget together retry briefly."""
    for attempt in range(attempts):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 + random.random() * 0.1)


class SqliteBackend:
    """One SQLite file shared by the processes of one machine: no server to run."""

    def __init__(self, path: str | Path, *, namespace: str = "qbo_budget") -> None:
        self._ns = _check_namespace(namespace)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are only the explicit BEGIN IMMEDIATE of the lock above.
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        _use_wal(self._conn)
        self._lock = _SqliteTransactionLock(self._conn)
        self._sql = _lease_sql(_SQLITE_LEASES, self._ns)
        with self._lock:
            self._conn.execute(self._sql["create"])

    def bucket(self, key: str, rates: list[Rate]) -> AbstractBucket:
        table = f"{self._ns}_{_digest(key)}"
        with self._lock:
            self._conn.execute(SQLiteQueries.CREATE_BUCKET_TABLE.format(table=table))
            self._conn.execute(
                SQLiteQueries.CREATE_INDEX_ON_TIMESTAMP.format(index_name=f"{table}_ts", table_name=table)
            )
        return SQLiteBucket(rates, self._conn, table, lock=self._lock)

    def try_lease(self, key: str, holder: str, limit: int, ttl: float) -> bool:
        with self._lock:
            now = time.time()  # one machine, so its wall clock is shared by every process
            self._conn.execute(self._sql["expire"], (key, now))
            (held,) = self._conn.execute(self._sql["count"], (key,)).fetchone()
            if held >= limit:
                return False
            self._conn.execute(self._sql["take"], (key, holder, now + ttl))
            return True

    def release(self, key: str, holder: str) -> None:
        with self._lock:
            self._conn.execute(self._sql["release"], (key, holder))

    def close(self) -> None:
        self._conn.close()


def open_backend(
    url: str | None, *, sqlite_path: str | Path = "var/budget.sqlite", namespace: str = "qbo_budget"
) -> BudgetBackend:
    """The backend a URL names: None or sqlite:///path (SQLite file), redis://..., postgresql://...

    `namespace` prefixes every table and key, so budgets can share a database with other data.
    """
    if url is None:
        return SqliteBackend(sqlite_path, namespace=namespace)
    head, _, rest = url.partition("://")
    scheme = head.partition("+")[0].lower()  # postgresql+psycopg://, as SQLAlchemy URLs spell it
    if scheme == "sqlite":
        path = rest.removeprefix("/")  # sqlite:///relative/path, sqlite:////absolute/path
        if not rest.startswith("/") or path in ("", ":memory:"):
            raise ValueError(
                f"a SQLite budget needs a file processes can share (sqlite:///path), got {url!r}"
            )
        return SqliteBackend(path, namespace=namespace)
    if scheme in ("redis", "rediss"):
        from sources.quickbooks.budget_servers import RedisBackend

        return RedisBackend(url, namespace=namespace)
    if scheme in ("postgresql", "postgres"):
        from sources.quickbooks.budget_servers import PostgresBackend

        return PostgresBackend(f"postgresql://{rest}", namespace=namespace)
    raise ValueError(
        f"unsupported request budget URL scheme {scheme!r}: use sqlite:///path, redis://host:port/db, "
        "rediss://..., or postgresql://user@host/db (or no URL for the default SQLite file)"
    )


class RequestBudget:
    """QBO's limits for one (app client id, realm id), drawn on by every process that shares `backend`."""

    def __init__(
        self,
        app_id: str,
        realm_id: str,
        backend: BudgetBackend,
        *,
        per_minute: int = 500,
        concurrent: int = 10,
        batch_per_minute: int = 40,
        acquire_timeout: float = 120.0,
        per_second: int | None = None,
        lease_ttl: float = 120.0,
    ) -> None:
        """`per_second` optionally caps bursts too (the sandbox allows 10/s since 2025); pyrate wants
        it looser than the minute average (per_second * 60 >= per_minute).

        A lease lasts `lease_ttl` plus what is left of `acquire_timeout` (a slot may wait for per-minute
        room), so `lease_ttl` must exceed the longest request; a crashed holder's slot is free after that.
        """
        if min(per_minute, concurrent, batch_per_minute, per_second or 1) < 1 or acquire_timeout < 0:
            raise ValueError("request budget limits must be >= 1 and acquire_timeout >= 0")
        if lease_ttl <= 0:
            raise ValueError("lease_ttl must be positive")
        self.realm_id = realm_id
        self._backend = backend
        self._key = f"{quote(app_id, safe='')}:{quote(realm_id, safe='')}"  # quoted: ids cannot collide
        self._concurrent, self._timeout, self._lease_ttl = concurrent, acquire_timeout, lease_ttl
        self._per_minute, self._batch_per_minute = per_minute, batch_per_minute
        rates = [Rate(per_minute, Duration.MINUTE)]
        if per_second is not None:
            rates.insert(0, Rate(per_second, Duration.SECOND))
        self._buckets = (
            backend.bucket(f"{self._key}:requests", rates),
            backend.bucket(f"{self._key}:batch", [Rate(batch_per_minute, Duration.MINUTE)]),
        )
        # No Leaker thread per realm (pyrate's default): slot() trims expired entries every _LEAK_EVERY s.
        self._requests, self._batch = (
            Limiter(SingleBucketFactory(b, schedule_leak=False)) for b in self._buckets
        )
        self._next_leak = 0.0
        self._stats_lock = threading.Lock()
        self._stats = {"acquired": 0.0, "batch_acquired": 0.0, "timeouts": 0.0, "waited_seconds": 0.0}

    @contextmanager
    def slot(self, *, batch: bool = False) -> Iterator[None]:
        """Wait for room in the per-minute budget (and the batch one) and hold one in-flight lease.

        The lease comes first and the per-minute permits last, so a permit is spent right before the
        request goes out: permits spent early, while queueing for a lease, could all go out later
        inside one minute.
        """
        started = time.monotonic()
        deadline = started + self._timeout
        holder = uuid.uuid4().hex
        leased = False
        try:
            self._lease(holder, deadline)
            leased = True
            self._leak_if_due()
            if batch:
                self._take(self._batch, deadline, f"room for a batch call ({self._batch_per_minute}/min)")
            self._take(self._requests, deadline, f"room in the request budget ({self._per_minute}/min)")
        except BaseException as exc:
            if leased:
                self._backend.release(self._key, holder)
            self._record(started, timeouts=int(isinstance(exc, BudgetTimeout)))
            raise
        self._record(started, acquired=1, batch_acquired=int(batch))
        try:
            yield
        finally:
            self._backend.release(self._key, holder)

    def stats(self) -> dict[str, float]:
        """This instance's counters: acquired, batch_acquired, timeouts, waited_seconds (summed)."""
        with self._stats_lock:
            return dict(self._stats)

    def _lease(self, holder: str, deadline: float) -> None:
        delay = _POLL_MIN
        while True:
            remaining = deadline - time.monotonic()
            ttl = self._lease_ttl + max(0.0, remaining)  # covers a wait for per-minute room that may follow
            if self._backend.try_lease(self._key, holder, self._concurrent, ttl):
                return
            if remaining <= 0:
                raise BudgetTimeout(self.realm_id, f"free in-flight slot ({self._concurrent})", self._timeout)
            time.sleep(min(remaining, delay * random.uniform(0.5, 1.0)))  # jitter: waiters do not align
            delay = min(delay * 2, _POLL_MAX)

    def _take(self, limiter: Limiter, deadline: float, what: str) -> None:
        # pyrate sleeps until the oldest entry leaves the window, re-checks, and gives up at the timeout.
        acquired = limiter.try_acquire(self._key, timeout=max(0.0, deadline - time.monotonic()))
        assert isinstance(acquired, bool)  # sync buckets answer synchronously
        if not acquired:
            raise BudgetTimeout(self.realm_id, what, self._timeout)

    def _leak_if_due(self) -> None:
        if time.monotonic() < self._next_leak:
            return
        self._next_leak = time.monotonic() + _LEAK_EVERY
        for bucket in self._buckets:
            bucket.leak(bucket.now())

    def _record(self, started: float, **increments: int) -> None:
        with self._stats_lock:
            self._stats["waited_seconds"] += time.monotonic() - started
            for name, value in increments.items():
                self._stats[name] += value
