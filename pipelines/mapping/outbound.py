"""The row the outbound models (macros/outbound.sql) would make of one platform record, made now.

A real-time push (and a drafted write's check) cannot wait for the next transform: it needs the
outbound row of one platform DTO at once, without the warehouse. It is made the way dbt makes it: the
rendered spec's `outbound_columns` (the very SQL the outbound models emit) are evaluated in an
in-memory DuckDB, over one-row relations named as dbt names them: `base` (the record, typed as
staging types it), `operations`, and `lookup__<field>`, `link__<field>`, `default__<field>` holding
what a resolver (the published references, store/references.py) says of the realm. The payload hash is
the rendered `payload_hash`, over the same columns and the same line signature: a record pushed in
real time and in batch hashes alike.

What dbt would leave empty and flag, a push cannot send: a name no list record has is refused
(422 NOT_IN_QBO), a reference to a record not in QBO yet too (409 REFERENCE_NOT_IN_QBO), each naming
the DTO field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import duckdb

from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import LINES_FIELD
from pipelines.mapping.values import get_path
from sources.platform.dto import PlatformRecord
from sources.platform.errors import detail, error_dto


@dataclass
class Answer:
    """An HTTP-like answer: the status and the body (the seed's error DTO when it is a refusal)."""

    status: int
    body: dict[str, Any]


class Refused(Exception):
    """A record refused before it reaches QBO: the answer carries the error DTO, naming the DTO field."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, issue: str = "invalid"
    ) -> None:
        super().__init__(message)
        details = [detail(field, issue, message)] if field else []
        self.answer = Answer(status, error_dto(code, message, details))


class Resolver(Protocol):
    """What the warehouse would join: the published references (store/references.py References)."""

    def link(
        self, realm_id: str, entity: str, tenant_id: str, platform_id: str
    ) -> tuple[str, str | None] | None:
        """(QBO Id, SyncToken) of the QBO record a platform record is linked to."""
        ...

    def lookup(self, realm_id: str, table: str, name: str) -> str | None:
        """The QBO Id of the list record (Term, PaymentMethod) of that name."""
        ...

    def default(self, realm_id: str, entity: str, field: str) -> str | None:
        """The realm's most common QBO value of a `create_default` field."""
        ...


def outbound_row(
    entity: str,
    dto: PlatformRecord,
    realm_id: str,
    operation: str,
    fields: list[str],
    refs: Resolver,
    *,
    qbo_id: str | None = None,
    sync_token: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The outbound row and lines of `dto` for `operation`, with `fields` (spec names, `lines` too) in the
    payload; references are resolved for those fields only. Raises Refused for a missing reference."""
    spec = rendered()[entity]
    pushable = [f for f in spec["fields"] if f["pushable"]]
    tenant = dto.tenant_id
    data = dto.model_dump(by_alias=True, mode="python")
    values = [get_path(data, f["platform_path"]) for f in pushable]
    sql = _Relations()
    keys = [("tenant_id", "varchar"), ("realm_id", "varchar"), ("platform_id", "varchar")]
    sql.rows(
        "h__base",
        [*keys, *((f["name"], f["sql_type"]) for f in pushable)],
        [[tenant, realm_id, dto.id, *values]],
    )
    sql.rows(
        "h__operations",
        [*keys, ("qbo_id", "varchar"), ("operation", "varchar"), ("payload_fields", "varchar")],
        [[tenant, realm_id, dto.id, qbo_id, operation, ", ".join(fields)]],
    )
    sources = ["h__base as base", "h__operations as operations"]
    for f, value in zip(pushable, values, strict=True):
        name, wanted = f["name"], f["name"] in fields
        joined: list[tuple[str, str, str, Any]] = []  # (alias, column, type, value)
        if f["lookup_table"]:
            found = _looked_up(refs, realm_id, f, value, f["platform_path"]) if wanted else None
            joined.append((f"lookup__{name}", "qbo_id", "varchar", found))
        elif f["link"]:
            found = _linked(refs, realm_id, f["link"], tenant, value, f["platform_path"]) if wanted else None
            joined.append((f"link__{name}", "qbo_id", "varchar", found))
        if f["create_default"] == "most_common":
            needed = wanted and operation == "create" and value is None
            default = refs.default(realm_id, entity, name) if needed else None
            joined.append((f"default__{name}", "value", f["sql_type"], default))
        for alias, column, sql_type, found in joined:
            sql.rows(f"h__{alias}", [(column, sql_type)], [[found]])
            sources.append(f"h__{alias} as {alias}")
    lines: list[dict[str, Any]] = []
    signature = "cast(null as varchar)"
    with _database().cursor() as db:  # a connection of this thread's own
        if spec["lines"] is not None and LINES_FIELD in fields:
            lines = _lines(db, sql, entity, spec["lines"], dto, realm_id, operation, refs)
            signature = f"(select {spec['lines']['signatures']['v__']} from line__values)"
        columns = [f"{expr} as {column}" for f in pushable for column, expr in f["outbound_columns"]]
        (row,) = sql.select(
            db,
            f"select *, {spec['payload_hash']} as payload_hash from (select operations.operation, "
            "operations.qbo_id, operations.platform_id, operations.payload_fields, "
            f"{', '.join(columns)}, {signature} as lines_signature "
            f"from {' cross join '.join(sources)}) as payload",
        )
    row.pop("lines_signature")
    out = {
        "entity": entity,
        "tenant_id": tenant,
        "realm_id": realm_id,
        "platform_id": dto.id,
        "qbo_id": qbo_id,
        "operation": operation,
        "needs_approval": False,
        "sync_token": sync_token,
        "payload_fields": row.pop("payload_fields"),
    }
    return out | row | {"missing_references": None}, lines


def _lines(
    db: duckdb.DuckDBPyConnection,
    sql: _Relations,
    entity: str,
    spec: dict[str, Any],
    dto: PlatformRecord,
    realm_id: str,
    operation: str,
    refs: Resolver,
) -> list[dict[str, Any]]:
    """The record's lines as outbound_<entity>_lines has them; adds `line__values` to `sql`, the lines'
    platform values as int_sync__<entity>_lines_platform shows them (`v__`), for the line signature."""
    key, fields = spec["key"], spec["fields"]
    base: list[list[Any]] = []
    joined: dict[str, list[list[Any]]] = {}
    for n, line in enumerate(getattr(dto, spec["platform_table"].split("__", 1)[1])):
        values = line.model_dump(mode="python", by_alias=False)
        key_value = values[key["platform_column"]]
        base.append([n, key_value, *(values.get(f["platform_column"]) for f in fields)])
        if key["link"]:
            where = f"lines[{n}].{key['platform_column']}"
            found = _linked(refs, realm_id, key["link"], dto.tenant_id, key_value, where)
            joined.setdefault(f"link__{key['name']}", []).append([n, found])
        for f in fields:
            value, where = values.get(f["platform_column"]), f"lines[{n}].{f['platform_path']}"
            if f["lookup_table"]:
                found = _looked_up(refs, realm_id, f, value, where)
                joined.setdefault(f"lookup__{f['name']}", []).append([n, found])
            elif f["link"]:
                found = _linked(refs, realm_id, f["link"], dto.tenant_id, value, where)
                joined.setdefault(f"link__{f['name']}", []).append([n, found])
    columns = [("n", "integer"), (key["name"], "varchar"), *((f["name"], f["sql_type"]) for f in fields)]
    sql.rows("line__base", columns, base)
    sources = "line__base as base"
    for alias, rows in joined.items():
        sql.rows(f"line__{alias}", [("n", "integer"), ("qbo_id", "varchar")], rows)
        sources += f" left join line__{alias} as {alias} on {alias}.n = base.n"
    shown = ", ".join(f"cast({f['platform_value']} as varchar) as v__{f['name']}" for f in [key, *fields])
    sql.query("line__values", f"select {shown} from {sources}")
    selected = [f"{expr} as {column}" for f in [key, *fields] for column, expr in f["outbound_columns"]]
    head = {"entity": entity, "tenant_id": dto.tenant_id, "realm_id": realm_id, "platform_id": dto.id}
    head |= {"operation": operation}
    rows = sql.select(db, f"select {', '.join(selected)} from {sources} order by base.n")
    return [head | _detail_types(spec, row) | row for row in rows]


class _Relations:
    """The relations a query reads, as CTEs: rows whose values are bound as parameters, each cast to
    its column's type the way staging casts what dlt loaded."""

    def __init__(self) -> None:
        self.ctes: list[str] = []
        self.params: list[Any] = []

    def rows(self, name: str, columns: list[tuple[str, str]], rows: list[list[Any]]) -> None:
        names = ", ".join(column for column, _ in columns)
        if rows:
            one = "(" + ", ".join(f"cast(? as {sql_type})" for _, sql_type in columns) + ")"
            self.query(name, f"select * from (values {', '.join([one] * len(rows))}) as v({names})")
            self.params += [value for row in rows for value in row]
        else:
            typed = ", ".join(f"cast(null as {sql_type}) as {column}" for column, sql_type in columns)
            self.query(name, f"select {typed} where false")

    def query(self, name: str, select: str) -> None:
        self.ctes.append(f"{name} as ({select})")

    def select(self, db: duckdb.DuckDBPyConnection, select: str) -> list[dict[str, Any]]:
        cursor = db.execute(f"with {', '.join(self.ctes)} {select}", self.params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _detail_types(spec: dict[str, Any], row: dict[str, Any]) -> dict[str, str]:
    """A line's `qbo_where` columns (detail_type) as macros/outbound.sql decides them: of several
    detail types, the first whose detail the line fills."""
    out = {}
    for column, types in spec["qbo_where"].items():
        filled = [
            t
            for t in types
            for f in spec["fields"]
            if f["qbo_paths"][0].startswith(f"{t}.") and row.get(f["outbound_columns"][0][0]) is not None
        ]
        out[column] = (filled or types)[0]
    return out


@cache
def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for the process: opening one costs more than evaluating a record."""
    return duckdb.connect(":memory:")


def _looked_up(refs: Resolver, realm_id: str, f: dict[str, Any], value: Any, where: str) -> str | None:
    found = refs.lookup(realm_id, f["lookup_table"], value) if value else None
    if value and found is None:
        raise Refused(
            422, "NOT_IN_QBO", f"QBO has no {f['lookup_table']} named {value!r}", where, "unknown_name"
        )
    return found


def _linked(
    refs: Resolver, realm_id: str, entity: str, tenant: str, platform_id: Any, where: str
) -> str | None:
    if platform_id is None:
        return None
    found = refs.link(realm_id, entity, tenant, str(platform_id))
    if found is None:
        raise Refused(
            409,
            "REFERENCE_NOT_IN_QBO",
            f"{entity} {platform_id} is not in QBO yet (or not linked): push it first",
            where,
            "not_in_qbo",
        )
    return found[0]
