"""The sandbox's storage: every realm's entities as JSON documents in one SQLite database.

Documents are stored as the exact JSON text served, so a 1000-row page is a string join, not
1000 round trips through `json`. The columns beside the text (`lut`, `ct`, `active`, `deleted`)
carry what the query engine filters and orders on, with an index that serves the incremental
cursor (`MetaData.LastUpdatedTime >= t ORDERBY MetaData.LastUpdatedTime`) straight from disk.
One connection guarded by a lock: SQLite serialises writers anyway, and the sandbox is never
the bottleneck of what it tests (see bench/sandbox_query_bench.py).
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import faults
from sandbox.clock import parse_instant
from sandbox.query import Condition, Literal, Order, Query
from sources.quickbooks.catalog import ENTITIES

SCHEMA = """
CREATE TABLE IF NOT EXISTS realms (
    realm_id TEXT PRIMARY KEY,
    company TEXT NOT NULL,
    seed INTEGER NOT NULL,
    tz TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
    realm_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    id INTEGER NOT NULL,
    lut REAL NOT NULL,          -- MetaData.LastUpdatedTime, epoch seconds
    ct REAL NOT NULL,           -- MetaData.CreateTime
    active INTEGER,             -- 1/0 for name lists, NULL for the rest
    deleted INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS entities_pk ON entities (realm_id, entity, id);
CREATE INDEX IF NOT EXISTS entities_cursor ON entities (realm_id, entity, deleted, lut, id);
CREATE TABLE IF NOT EXISTS id_seq (
    realm_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    next_id INTEGER NOT NULL,
    PRIMARY KEY (realm_id, entity)
);
CREATE TABLE IF NOT EXISTS names (   -- uniqueness of DisplayName / Name, case-insensitive
    realm_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    entity TEXT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (realm_id, namespace, name)
);
CREATE INDEX IF NOT EXISTS names_owner ON names (realm_id, entity, id);
-- who owes what: party balances are sums over these (sandbox/rules/party_balances.py)
CREATE INDEX IF NOT EXISTS entities_customer_ref
    ON entities (realm_id, entity, json_extract(doc, '$.CustomerRef.value'));
CREATE INDEX IF NOT EXISTS entities_vendor_ref
    ON entities (realm_id, entity, json_extract(doc, '$.VendorRef.value'));
CREATE TABLE IF NOT EXISTS request_ids (
    realm_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (realm_id, request_id)
);
CREATE TABLE IF NOT EXISTS oauth_codes (
    code TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    realm_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_tokens (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL,               -- access | refresh
    client_id TEXT NOT NULL,
    realm_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    grant_id TEXT NOT NULL,           -- one consent; revoking it kills every token it issued
    expires_at REAL NOT NULL,
    hard_expires_at REAL NOT NULL,
    rotated_at REAL                   -- refresh tokens: when it was used (a grace period follows)
);
"""


REALM_TABLES = ("realms", "entities", "id_seq", "names", "request_ids", "oauth_codes", "oauth_tokens")


@dataclass(frozen=True)
class Realm:
    realm_id: str
    company: str
    seed: int
    tz: str


@dataclass(frozen=True)
class StoredEntity:
    entity: str
    id: int
    doc: dict[str, Any]
    deleted: bool


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class Store:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute(
            "PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY"
        )
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute("PRAGMA cache_size=-65536")  # 64 MiB
        self._conn.executescript(SCHEMA)
        self.lock = threading.RLock()
        self._versions: dict[tuple[str, str], int] = {}
        self._positions: dict[tuple[str, str, bool, str], _Positions] = {}

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: every write of an API call commits together or not at all."""
        with self.lock:
            if self._conn.in_transaction:  # nested: join the outer transaction
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self._conn.execute(sql, tuple(params))

    # realms -------------------------------------------------------------------------------
    def add_realm(self, realm: Realm, created_at: float) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO realms VALUES (?, ?, ?, ?, ?)",
                (realm.realm_id, realm.company, realm.seed, realm.tz, created_at),
            )

    def realm(self, realm_id: str) -> Realm | None:
        row = self.execute(
            "SELECT realm_id, company, seed, tz FROM realms WHERE realm_id = ?", (realm_id,)
        ).fetchone()
        return Realm(*row) if row else None

    def realms(self) -> list[Realm]:
        rows = self.execute("SELECT realm_id, company, seed, tz FROM realms ORDER BY created_at, realm_id")
        return [Realm(*row) for row in rows.fetchall()]

    def drop_realm(self, realm_id: str) -> None:
        with self.transaction() as db:
            for table in REALM_TABLES:
                db.execute(f"DELETE FROM {table} WHERE realm_id = ?", (realm_id,))
            self._positions.clear()

    def reset(self) -> None:
        with self.transaction() as db:
            for table in REALM_TABLES:
                db.execute(f"DELETE FROM {table}")
            self._positions.clear()

    # ids and names ----------------------------------------------------------------------------
    def next_id(self, realm_id: str, entity: str) -> int:
        with self.transaction() as db:
            row = db.execute(
                "SELECT next_id FROM id_seq WHERE realm_id = ? AND entity = ?", (realm_id, entity)
            ).fetchone()
            if row is None:
                top = db.execute(
                    "SELECT COALESCE(MAX(id), 0) FROM entities WHERE realm_id = ? AND entity = ?",
                    (realm_id, entity),
                ).fetchone()[0]
                new_id = top + 1
                db.execute("INSERT INTO id_seq VALUES (?, ?, ?)", (realm_id, entity, new_id + 1))
            else:
                new_id = row[0]
                db.execute(
                    "UPDATE id_seq SET next_id = ? WHERE realm_id = ? AND entity = ?",
                    (new_id + 1, realm_id, entity),
                )
            return new_id

    def name_owner(self, realm_id: str, namespace: str, name: str) -> tuple[str, int] | None:
        row = self.execute(
            "SELECT entity, id FROM names WHERE realm_id = ? AND namespace = ? AND name = ?",
            (realm_id, namespace, name.casefold()),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def claim_name(self, realm_id: str, namespace: str, name: str, entity: str, id_: int) -> None:
        with self.transaction() as db:
            db.execute(
                "DELETE FROM names WHERE realm_id = ? AND entity = ? AND id = ? AND namespace = ?",
                (realm_id, entity, id_, namespace),
            )
            db.execute(
                "INSERT INTO names VALUES (?, ?, ?, ?, ?)",
                (realm_id, namespace, name.casefold(), entity, id_),
            )

    def release_names(self, realm_id: str, entity: str, id_: int) -> None:
        self.execute(
            "DELETE FROM names WHERE realm_id = ? AND entity = ? AND id = ?", (realm_id, entity, id_)
        )

    # documents ------------------------------------------------------------------------------
    def get(
        self, realm_id: str, entity: str, id_: int, *, include_deleted: bool = False
    ) -> StoredEntity | None:
        row = self.execute(
            "SELECT doc, deleted FROM entities WHERE realm_id = ? AND entity = ? AND id = ?",
            (realm_id, entity, id_),
        ).fetchone()
        if row is None or (row[1] and not include_deleted):
            return None
        return StoredEntity(entity, id_, json.loads(row[0]), bool(row[1]))

    def put(
        self,
        realm_id: str,
        entity: str,
        doc: dict[str, Any],
        *,
        lut: float,
        ct: float,
        active: bool | None,
        deleted: bool = False,
    ) -> None:
        with self.lock:
            self._conn.execute(
                "INSERT INTO entities (realm_id, entity, id, lut, ct, active, deleted, doc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (realm_id, entity, id) DO UPDATE SET "
                "lut = excluded.lut, ct = excluded.ct, active = excluded.active, deleted = excluded.deleted, "
                "doc = excluded.doc",
                (realm_id, entity, int(doc["Id"]), lut, ct, _flag(active), int(deleted), dumps(doc)),
            )
            self._changed(realm_id, entity)

    def bulk_put(
        self, realm_id: str, entity: str, rows: Iterable[tuple[int, float, float, bool | None, str]]
    ) -> None:
        """Fast path for the generator: (id, lut, ct, active, doc_json) rows, one transaction."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO entities (realm_id, entity, id, lut, ct, active, deleted, doc) "
                "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                ((realm_id, entity, i, lut, ct, _flag(active), doc) for i, lut, ct, active, doc in rows),
            )
            self._changed(realm_id, entity)

    def _changed(self, realm_id: str, entity: str) -> None:
        key = (realm_id, entity)
        self._versions[key] = self._versions.get(key, 0) + 1

    def docs_by_ids(self, realm_id: str, entity: str, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = list(ids)
        found: dict[int, dict[str, Any]] = {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            sql = f"SELECT id, doc FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0 AND id IN ({marks})"  # noqa: E501
            rows = self.execute(sql, (realm_id, entity, *part)).fetchall()
            found.update((row[0], json.loads(row[1])) for row in rows)
        return found

    # queries --------------------------------------------------------------------------------
    def query(self, realm: Realm, q: Query) -> tuple[list[str], int | None]:
        """The page of documents (JSON text, in order) and, for COUNT(*), the count."""
        where, params = self._where(realm, q)
        with self.lock:
            if q.count:
                sql = f"SELECT COUNT(*) FROM entities WHERE {where}"
                return [], self._conn.execute(sql, params).fetchone()[0]
            rowids = self._positioned(realm, q)
            if rowids is None:
                order = self._order_by(q)
                sql = f"SELECT rowid FROM entities WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
                rowids = [
                    r[0] for r in self._conn.execute(sql, (*params, q.max_results, q.start_position - 1))
                ]
            if not rowids:
                return [], None
            marks = ",".join("?" * len(rowids))
            sql = f"SELECT rowid, doc FROM entities WHERE rowid IN ({marks})"
            docs = dict(self._conn.execute(sql, rowids))
        return [docs[r] for r in rowids], None

    def changed_since(self, realm_id: str, entity: str, since: float, limit: int) -> list[str]:
        """CDC: the earliest `limit` changes since `since`, live rows first, then deleted ones (as QBO
        orders them). Capping by time rather than by kind lets a client narrow its window: the next
        call starts where the last change it received happened, and no delete falls in between."""
        rows = self.execute(
            "SELECT doc FROM (SELECT doc, deleted, lut, id FROM entities WHERE realm_id = ? AND entity = ? "
            "AND lut >= ? ORDER BY lut, id LIMIT ?) ORDER BY deleted, lut, id",
            (realm_id, entity, since, limit),
        )
        return [r[0] for r in rows.fetchall()]

    def versions(self, realm_id: str, entity: str) -> dict[str, tuple[str | None, bool]]:
        """Id -> (SyncToken, deleted) of every record, inactive and deleted ones too (deleted ones have
        no token): what a warehouse synced from this realm must hold."""
        rows = self.execute(
            "SELECT id, json_extract(doc, '$.SyncToken'), deleted FROM entities "
            "WHERE realm_id = ? AND entity = ?",
            (realm_id, entity),
        ).fetchall()
        return {str(i): (None if deleted else token, bool(deleted)) for i, token, deleted in rows}

    def entity_counts(self, realm_id: str) -> dict[str, dict[str, int]]:
        rows = self.execute(
            "SELECT entity, "
            "SUM(CASE WHEN deleted = 0 AND (active IS NULL OR active = 1) THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN deleted = 0 AND active = 0 THEN 1 ELSE 0 END), "
            "SUM(deleted) FROM entities WHERE realm_id = ? GROUP BY entity ORDER BY entity",
            (realm_id,),
        )
        return {e: {"active": a, "inactive": i, "deleted": d} for e, a, i, d in rows.fetchall()}

    def _positioned(self, realm: Realm, q: Query) -> list[int] | None:
        """Deep STARTPOSITION pages of the common shapes (whole entity or `LastUpdatedTime >= t`, by
        LastUpdatedTime or by Id) from an in-memory position index, instead of SQLite stepping over
        every skipped row. Rebuilt lazily after the entity changes; None when it does not apply."""
        if q.start_position <= POSITION_INDEX_MIN_OFFSET or len(q.where) > 1:
            return None
        if q.order == () or q.order == (Order("Id"),):
            order = "id"
        elif q.order == (Order("MetaData.LastUpdatedTime"),):
            order = "lut"
        else:
            return None
        cond = q.where[0] if q.where else None
        if cond is not None and (
            cond.prop != "MetaData.LastUpdatedTime" or cond.op not in (">=", ">") or order != "lut"
        ):
            return None
        active_only = ENTITIES[q.entity].has_active
        key = (realm.realm_id, q.entity, active_only, order)
        version = self._versions.get((realm.realm_id, q.entity), 0)
        positions = self._positions.get(key)
        if positions is None or positions.version != version:
            positions = _Positions.build(self._conn, key, version)
            self._positions[key] = positions
        first = 0
        if cond is not None:
            since = _coerce_for_column("lut", cond.values[0], realm.tz)
            first = (bisect.bisect_left if cond.op == ">=" else bisect.bisect_right)(positions.luts, since)
        start = first + q.start_position - 1
        return positions.rowids[start : start + q.max_results].tolist()

    def _where(self, realm: Realm, q: Query) -> tuple[str, list[Any]]:
        clauses = ["realm_id = ?", "entity = ?", "deleted = 0"]
        params: list[Any] = [realm.realm_id, q.entity]
        spec = ENTITIES[q.entity]
        if spec.has_active and not q.filters_on("Active"):
            clauses.append("active = 1")  # name lists hide inactive rows unless asked (QBO_API.md §1)
        for cond in q.where:
            sql, values = _condition_sql(cond, realm.tz)
            clauses.append(sql)
            params.extend(values)
        return " AND ".join(clauses), params

    @staticmethod
    def _order_by(q: Query) -> str:
        parts = []
        for order in q.order:
            column = _column(order.prop) or f"json_extract(doc, '{_json_path(order.prop)}')"
            parts.append(f"{column} {'DESC' if order.descending else 'ASC'}")
        parts.append("id DESC" if q.order and q.order[-1].descending else "id")  # stable paging among ties
        return ", ".join(parts)


POSITION_INDEX_MIN_OFFSET = 20_000  # below this SQLite's own OFFSET is as fast


@dataclass
class _Positions:
    version: int
    luts: array  # sorted, parallel to rowids
    rowids: array

    @classmethod
    def build(cls, conn: sqlite3.Connection, key: tuple[str, str, bool, str], version: int) -> _Positions:
        realm_id, entity, active_only, order = key
        active = " AND active = 1" if active_only else ""
        sql = (
            f"SELECT lut, rowid FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0{active} "
            f"ORDER BY {'lut, id' if order == 'lut' else 'id'}"
        )
        luts, rowids = array("d"), array("q")
        for lut, rowid in conn.execute(sql, (realm_id, entity)):
            luts.append(lut)
            rowids.append(rowid)
        return cls(version, luts, rowids)


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


_COLUMNS = {"Id": "id", "MetaData.LastUpdatedTime": "lut", "MetaData.CreateTime": "ct", "Active": "active"}


def _column(prop: str) -> str | None:
    return _COLUMNS.get(prop)


def _json_path(prop: str) -> str:
    parts = prop.split(".")
    if parts[-1].endswith("Ref"):
        parts.append("value")  # CustomerRef = '5' compares the reference's value
    for part in parts:
        if not part.replace("_", "").isalnum():
            raise faults.invalid_query(f"invalid property {prop}")
    return "$." + ".".join(parts)


def _coerce_for_column(column: str, lit: Literal, tz: str) -> Any:
    if column == "id":
        try:
            return int(float(lit.value)) if lit.kind != "bool" else None
        except ValueError:
            raise faults.invalid_id(str(lit.value)) from None
    if column in ("lut", "ct"):
        try:
            return parse_instant(str(lit.value), tz)
        except ValueError:
            raise faults.invalid_query(f"invalid dateTime value {lit.value}") from None
    # Active
    if lit.kind == "bool":
        return int(bool(lit.value))
    return 1 if str(lit.value).lower() == "true" else 0


def _like_pattern(value: str) -> str:
    return value.replace("\\", "\\\\").replace("_", "\\_")


def _condition_sql(cond: Condition, tz: str) -> tuple[str, list[Any]]:
    op = cond.op
    column = _column(cond.prop)
    if column is not None:
        values = [_coerce_for_column(column, lit, tz) for lit in cond.values]
        if op == "IN":
            return f"{column} IN ({','.join('?' * len(values))})", values
        if op == "LIKE":
            return f"CAST({column} AS TEXT) LIKE ? ESCAPE '\\'", [_like_pattern(str(cond.values[0].value))]
        return f"{column} {op} ?", values

    path = _json_path(cond.prop)
    value_sql = f"json_extract(doc, '{path}')"
    if op == "LIKE":
        return f"{value_sql} LIKE ? ESCAPE '\\'", [_like_pattern(str(cond.values[0].value))]

    # The property's JSON type decides how literals compare: numbers numerically, booleans as
    # true/false, everything else (strings, dates, datetimes) as text, as QBO's typed schema would.
    numeric = [_as_number(lit) for lit in cond.values]
    texts = [_as_text(lit) for lit in cond.values]
    bools = [_as_bool(lit) for lit in cond.values]
    type_sql = f"json_type(doc, '{path}')"

    def compare(values: list[Any]) -> tuple[str, list[Any]]:
        usable = [v for v in values if v is not None]
        if not usable:
            return "0", []
        if op == "IN":
            return f"{value_sql} IN ({','.join('?' * len(usable))})", usable
        return f"{value_sql} {op} ?", usable[:1]

    num_sql, num_params = compare(numeric)
    bool_sql, bool_params = compare(bools)
    text_sql, text_params = compare(texts)
    sql = (
        f"(CASE WHEN {type_sql} IN ('integer', 'real') THEN {num_sql} "
        f"WHEN {type_sql} IN ('true', 'false') THEN {bool_sql} "
        f"ELSE {text_sql} END)"
    )
    return sql, [*num_params, *bool_params, *text_params]


def _as_number(lit: Literal) -> float | None:
    if lit.kind == "bool":
        return None
    try:
        return float(lit.value)
    except ValueError:
        return None


def _as_text(lit: Literal) -> str:
    if lit.kind == "bool":
        return "true" if lit.value else "false"
    if lit.kind == "num":
        number = float(lit.value)
        return str(int(number)) if number.is_integer() else str(number)
    return str(lit.value)


def _as_bool(lit: Literal) -> int | None:
    if lit.kind == "bool":
        return int(bool(lit.value))
    if str(lit.value).lower() in ("true", "false"):
        return int(str(lit.value).lower() == "true")
    return None
