"""The request budget's Redis and PostgreSQL backends, apart from budget.py so that their drivers
load only when a budget URL names them (the default SQLite budget never pays for redis or psycopg)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import redis
from psycopg.pq import TransactionStatus
from pyrate_limiter import AbstractBucket, PostgresBucket, Rate, RedisBucket
from pyrate_limiter.buckets.redis_bucket import LuaScript

from sources.quickbooks.budget import _COLUMNS, _check_namespace, _digest, _lease_sql

_PG_LEASES = {  # the database server's clock, so every host agrees on expiry
    "create": "CREATE TABLE IF NOT EXISTS {table} " + _COLUMNS.replace("{time}", "TIMESTAMPTZ"),
    "expire": "DELETE FROM {table} WHERE key = %s AND expires_at < clock_timestamp()",
    "count": "SELECT COUNT(*) FROM {table} WHERE key = %s",
    "take": "INSERT INTO {table} VALUES (%s, %s, clock_timestamp() + make_interval(secs => %s))",
    "release": "DELETE FROM {table} WHERE key = %s AND holder = %s",
}


# Expiry uses the Redis server's clock, so hosts with skewed clocks still agree on it.
_REDIS_LEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000) + 1000)
return 1
"""


# pyrate's script counts a window's entries up to the caller's own `now`: an entry another process
# stamped a millisecond later, but inserted first, is not counted, and one slot too many is given (three
# processes racing for 5 slots took 6). Here the window's end is open: every entry since its start counts.
_REDIS_PUT = LuaScript.PUT_ITEM.replace(
    "redis.call('ZCOUNT', bucket, window_start, now)", "redis.call('ZCOUNT', bucket, window_start, '+inf')"
)
assert _REDIS_PUT != LuaScript.PUT_ITEM, "pyrate-limiter's Redis script changed: review _REDIS_PUT"


class RedisBackend:
    """Redis: the buckets are sorted sets (pyrate's Lua script, window end open), leases a sorted set
    scored by expiry."""

    def __init__(self, url: str, *, namespace: str = "qbo_budget") -> None:
        self._ns = _check_namespace(namespace)
        self._redis = redis.Redis.from_url(url)
        self._lease_script = self._redis.register_script(_REDIS_LEASE)
        self._put_script = str(self._redis.script_load(_REDIS_PUT))

    def bucket(self, key: str, rates: list[Rate]) -> AbstractBucket:
        return RedisBucket(rates, self._redis, f"{self._ns}:{key}", self._put_script)

    def try_lease(self, key: str, holder: str, limit: int, ttl: float) -> bool:
        return bool(self._lease_script(keys=[f"{self._ns}:{key}:leases"], args=[holder, limit, ttl]))

    def release(self, key: str, holder: str) -> None:
        self._redis.zrem(f"{self._ns}:{key}:leases", holder)

    def close(self) -> None:
        self._redis.close()


class _PgConnection:
    """The slice of psycopg_pool's ConnectionPool that PostgresBucket uses, over one connection.

    `connection()` is one transaction (commit on success, rollback on error), as with the pool;
    threads take turns. It avoids a dependency on psycopg_pool for one connection per process.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._depth = 0
        self.closed = False

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            if self._depth and self._conn is not None:
                yield self._conn  # nested in this thread's open block: part of its transaction
                return
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._url)  # first use, or the server dropped us
            conn = self._conn
            self._depth += 1
            try:
                yield conn
            except BaseException:
                if not conn.closed:
                    conn.rollback()
                raise
            else:
                if conn.info.transaction_status == TransactionStatus.INERROR:
                    conn.rollback()  # e.g. pyrate's LOCK TABLE ... NOWAIT lost a race
                else:
                    conn.commit()
            finally:
                self._depth -= 1

    def close(self) -> None:
        with self._lock:
            self.closed = True
            if self._conn is not None:
                self._conn.close()


class PostgresBackend:
    """PostgreSQL: pyrate's table-per-bucket, leases in one table serialised per key by an advisory lock."""

    def __init__(self, url: str, *, namespace: str = "qbo_budget") -> None:
        self._ns = _check_namespace(namespace)
        self._pool = _PgConnection(url)
        self._sql = _lease_sql(_PG_LEASES, self._ns)
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_id("create"),))  # CREATE races
            conn.execute(self._sql["create"])

    def _lock_id(self, key: str) -> int:
        return int.from_bytes(hashlib.sha256(f"{self._ns}:{key}".encode()).digest()[:8], "big", signed=True)

    def bucket(self, key: str, rates: list[Rate]) -> AbstractBucket:
        return PostgresBucket(self._pool, f"{self._ns}_{_digest(key)}", rates)

    def try_lease(self, key: str, holder: str, limit: int, ttl: float) -> bool:
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_id(key),))
            conn.execute(self._sql["expire"], (key,))
            (held,) = conn.execute(self._sql["count"], (key,)).fetchone()
            if held >= limit:
                return False
            conn.execute(self._sql["take"], (key, holder, float(ttl)))
            return True

    def release(self, key: str, holder: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(self._sql["release"], (key, holder))

    def close(self) -> None:
        self._pool.close()
