"""Plain SQL on the warehouse, outside dlt and dbt: a DuckDB file or a PostgreSQL database, one interface.

Publishing, the drift report, the push plan, delivery, `qbo ask` and the demo read what dbt built with a
few queries each. They write them once, with `?` placeholders, in the SQL both engines share, and open
the warehouse here. Where the engines differ (DuckDB's QUALIFY, try_cast, strip_accents), the query asks
`db.dialect` or uses one of the helpers below, never a second copy of the query.

On PostgreSQL a reader runs in one REPEATABLE READ, read-only transaction: its queries see one snapshot,
so a report read while a transform publishes its tables is whole (the earlier build or the later one,
never half of each). JSON columns come back as text, as DuckDB returns them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb

from pipelines.runtime.warehouse_target import Warehouse, is_postgres, warehouse_unreachable

Dialect = Literal["duckdb", "postgres"]
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|%|\?")


class Rows(Protocol):
    description: Any

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


def postgres_placeholders(sql: str) -> str:
    """`?` -> `%s` and a literal `%` -> `%%`, outside quoted literals and names (psycopg's paramstyle)."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "'\"":
            return token.replace("%", "%%")  # psycopg reads `%` inside quotes too
        return {"?": "%s", "%": "%%"}.get(token, token)

    return _PLACEHOLDER.sub(swap, sql)


class WarehouseSQL:
    """One open connection to the warehouse. `execute` returns something with fetchall/fetchone/description
    on both engines; `dicts` is the rows as {column: value}."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect: Dialect = dialect

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgres"

    def _sql(self, sql: str, params: Sequence[Any] | None) -> str:
        return postgres_placeholders(sql) if self.postgres and params is not None else sql

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Rows:
        if params is None:
            return self.connection.execute(sql)  # type: ignore[no-any-return]
        return self.connection.execute(self._sql(sql, params), list(params))  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.postgres:
            with self.connection.cursor() as cursor:
                cursor.executemany(self._sql(sql, rows[0]), [list(r) for r in rows])
        else:
            self.connection.executemany(sql, [list(r) for r in rows])

    def all(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.execute(sql, params).fetchall()]

    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        rows = self.execute(sql, params)
        names = [d[0] for d in rows.description]
        return [dict(zip(names, row, strict=True)) for row in rows.fetchall()]

    def optional(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]] | None:
        """The rows, or None when the query fails (a model that is not built, a column it lacks). On
        PostgreSQL in a savepoint: a failed statement would abort the reader's whole transaction."""
        if not self.postgres:
            try:
                return self.all(sql, params)
            except duckdb.Error:
                return None
        import psycopg

        try:
            with self.connection.transaction():
                return self.all(sql, params)
        except psycopg.DatabaseError:
            return None

    def tables(self, schema: str) -> set[str]:
        """The tables and views of `schema` (empty when the schema does not exist)."""
        return {
            name
            for (name,) in self.all(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
            )
        }

    # -- the few idioms the engines spell differently (module functions below) -----------------------
    def try_cast(self, expression: str, sql_type: str) -> str:
        return try_cast(expression, sql_type, self.dialect)

    def fold(self, expression: str) -> str:
        return fold(expression, self.dialect)

    def bytewise(self, column: str) -> str:
        return bytewise(column, self.dialect)


def missing_relation(exc: BaseException) -> bool:
    """A query failed because a table, view or schema does not exist (the warehouse is not built yet)."""
    name = type(exc).__name__
    return name in {"CatalogException", "UndefinedTable", "InvalidSchemaName", "UndefinedColumn"}


def try_cast(expression: str, sql_type: str, dialect: Dialect) -> str:
    """`expression` as `sql_type`, null when it does not convert (integers and decimals only on
    PostgreSQL, which has no try_cast: text that is not a number is null)."""
    if dialect == "duckdb":
        return f"try_cast({expression} AS {sql_type})"
    integer = sql_type.upper() in {"INT", "INTEGER", "BIGINT"}
    number = _INTEGER if integer else _DECIMAL
    text = f"({expression})::text"
    return f"(CASE WHEN {text} ~ {number} THEN ({text})::{sql_type} END)"


_INTEGER = r"'^\s*[-+]?[0-9]+\s*$'"
_DECIMAL = r"'^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'"


def fold(expression: str, dialect: Dialect) -> str:
    """Lower case without accents, for matching names as people type them (`Café` = `cafe`). DuckDB's
    strip_accents; on PostgreSQL (whose unaccent is an extension few servers have) a translate() of the
    Latin letters that decompose to an ASCII letter and a mark, the ones strip_accents strips."""
    if dialect == "duckdb":
        return f"lower(strip_accents({expression}))"
    return f"lower(translate({expression}, '{_ACCENTED}', '{_PLAIN}'))"


def bytewise(column: str, dialect: Dialect) -> str:
    """A text column ordered by its bytes, as DuckDB orders it: a PostgreSQL database's collation (say
    en_US, which skips spaces and punctuation) would put names in another order."""
    return f'{column} COLLATE "C"' if dialect == "postgres" else column


def _accent_table() -> tuple[str, str]:
    accented, plain = [], []
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        letter = chr(code)
        base = unicodedata.normalize("NFKD", letter)[0]
        if base != letter and base.isascii() and base.isalpha():
            accented.append(letter)
            plain.append(base)
    return "".join(accented), "".join(plain)


_ACCENTED, _PLAIN = _accent_table()


@contextmanager
def open_warehouse(warehouse: Warehouse, *, write: bool = False) -> Iterator[WarehouseSQL]:
    """The warehouse for a few queries: read-only unless `write` (then committed when the block ends
    without an error). A PostgreSQL that cannot be reached is `WarehouseUnreachable`. Inside
    `one_connection(warehouse)`, a read-only open is the block's one connection."""
    shared = _SHARED.get()
    if shared is not None and not write and shared.target == str(warehouse):
        if shared.db is None:
            shared.db = shared.stack.enter_context(_connect(warehouse, write=False))
        yield shared.db
        return
    with _connect(warehouse, write) as db:
        yield db


@dataclass
class _Shared:
    target: str
    stack: ExitStack = field(default_factory=ExitStack)
    db: WarehouseSQL | None = None


_SHARED: ContextVar[_Shared | None] = ContextVar("one_connection", default=None)


@contextmanager
def one_connection(warehouse: Warehouse) -> Iterator[None]:
    """Every read-only `open_warehouse(warehouse)` in the block shares one connection, opened at the
    first: a one-shot command (`qbo ask`) checks, reads names and answers on one DuckDB open (each costs
    tens of milliseconds) and, on PostgreSQL, one snapshot."""
    shared = _Shared(str(warehouse))
    token = _SHARED.set(shared)
    try:
        with shared.stack:
            yield
    finally:
        _SHARED.reset(token)


@contextmanager
def _connect(warehouse: Warehouse, write: bool) -> Iterator[WarehouseSQL]:
    if is_postgres(warehouse):
        with _postgres(str(warehouse), write) as db:
            yield db
        return
    with duckdb.connect(str(Path(warehouse)), read_only=not write) as connection:
        yield WarehouseSQL(connection, "duckdb")


@contextmanager
def _postgres(url: str, write: bool) -> Iterator[WarehouseSQL]:
    import psycopg
    from psycopg.types.string import TextLoader

    try:
        connection = psycopg.connect(url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise (warehouse_unreachable(exc, url) or exc) from exc
    with connection:
        for json_type in ("json", "jsonb"):
            connection.adapters.register_loader(json_type, TextLoader)
        if not write:
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            connection.read_only = True
        yield WarehouseSQL(connection, "postgres")


TRANSFORM_LOCK = 7_151_162  # one dbt build at a time on a PostgreSQL warehouse (next to SCHEMA_LOCK)


@contextmanager
def one_at_a_time(warehouse: Warehouse, key: int) -> Iterator[None]:
    """Wait for, then hold, PostgreSQL's session advisory lock `key` for the block: loads go on beside
    it, a second holder waits. A DuckDB file's own lock (WarehouseAccess) already orders its writers."""
    if not is_postgres(warehouse):
        yield
        return
    with _postgres(str(warehouse), write=True) as db:
        db.connection.autocommit = True
        db.execute("SELECT pg_advisory_lock(?)", [key])
        try:
            yield
        finally:
            db.execute("SELECT pg_advisory_unlock(?)", [key])
