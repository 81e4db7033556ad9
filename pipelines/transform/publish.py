"""References for the gateway, read from the warehouse after each transform (store/references.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pipelines.mapping.order import ORDER
from pipelines.mapping.payloads import pushable
from pipelines.mapping.rendering import rendered
from pipelines.runtime.warehouse_sql import WarehouseSQL, open_warehouse
from pipelines.runtime.warehouse_target import Warehouse
from pipelines.store.integration_store import IntegrationStore
from pipelines.store.references import reference_row


def _table_of(entity: str) -> str:
    return f"stg_qbo__{rendered()[entity]['table']}s"


def read_warehouse(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Every reference the warehouse knows, as rows of `qbo_references`."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    with open_warehouse(warehouse) as db:
        for entity in ORDER:
            for realm, tenant, platform_id, qbo_id, token in db.execute(
                f"SELECT m.realm_id, m.tenant_id, m.platform_id, m.qbo_id, q.sync_token "
                f"FROM sync.sync_mappings m JOIN staging.{_table_of(entity)} q "
                "ON q.realm_id = m.realm_id AND q.qbo_id = m.qbo_id AND NOT q.is_deleted "
                "WHERE m.entity = ? AND m.status = 'linked'",
                [entity],
            ).fetchall():
                rows.append(
                    reference_row(realm, "link", entity, f"{tenant}|{platform_id}", qbo_id, token, now)
                )
            for f in pushable(entity):
                if f["lookup_table"]:
                    table = f"stg_qbo__{f['lookup_table']}s"
                    for realm, name, qbo_id in db.execute(
                        f"SELECT realm_id, lower({f['lookup_column']}), qbo_id FROM staging.{table} "
                        f"WHERE NOT is_deleted AND {f['lookup_column']} IS NOT NULL"
                    ).fetchall():
                        rows.append(
                            reference_row(realm, "lookup", f["lookup_table"], name, qbo_id, None, now)
                        )
                if f["create_default"] == "most_common":
                    for realm, value in db.execute(
                        f"SELECT realm_id, value FROM (SELECT realm_id, {f['name']} AS value, "
                        f"row_number() OVER (PARTITION BY realm_id ORDER BY count(*) DESC, {f['name']}) AS n "
                        f"FROM staging.{_table_of(entity)} WHERE NOT is_deleted AND {f['name']} IS NOT NULL "
                        f"GROUP BY realm_id, {f['name']}) AS ranked WHERE n = 1"
                    ).fetchall():
                        rows.append(
                            reference_row(realm, "default", f"{entity}.{f['name']}", "", value, None, now)
                        )
    return list({(r["realm_id"], r["kind"], r["scope"], r["name"]): r for r in rows}.values())


def publish(warehouse: Warehouse, store: IntegrationStore) -> int:
    """Replace the store's references with the warehouse's; returns how many."""
    return store.references.replace_all(read_warehouse(warehouse))


# -- the review queues ------------------------------------------------------------------------------
DECISION_COLUMNS = (
    ("id", "BIGINT"),
    ("tenant_id", "VARCHAR"),
    ("realm_id", "VARCHAR"),
    ("entity", "VARCHAR"),
    ("platform_id", "VARCHAR"),
    ("qbo_id", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("field", "VARCHAR"),
    ("choice", "VARCHAR"),
    ("value", "VARCHAR"),
    ("platform_value", "VARCHAR"),
    ("qbo_value", "VARCHAR"),
    ("version", "VARCHAR"),
    ("reviewer", "VARCHAR"),
)
QUEUE_COLUMNS = (
    "queue", "tenant_id", "realm_id", "entity", "platform_id", "qbo_id", "field", "action", "label", "party",
    "amount", "currency", "changed_at", "platform_value", "qbo_value", "version", "data",
)  # fmt: skip


def land_decisions(warehouse: Warehouse, store: IntegrationStore) -> int:
    """Copy the standing decisions into the warehouse (raw_review.decisions) for the build to apply."""
    rows = [tuple(d[name] for name, _ in DECISION_COLUMNS) for d in store.review.standing()]
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in DECISION_COLUMNS)
    with open_warehouse(warehouse, write=True) as db:
        db.execute("CREATE SCHEMA IF NOT EXISTS raw_review")
        if db.postgres:  # dbt's views read the table: PostgreSQL refuses to drop it under them
            db.execute(f"CREATE TABLE IF NOT EXISTS raw_review.decisions ({columns})")
            db.execute("DELETE FROM raw_review.decisions")
        else:
            db.execute(f"CREATE OR REPLACE TABLE raw_review.decisions ({columns})")
        marks = ", ".join("?" for _ in DECISION_COLUMNS)
        db.executemany(f"INSERT INTO raw_review.decisions VALUES ({marks})", rows)
    return len(rows)


def read_review(warehouse: Warehouse) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The review queue's entries, and both sides of each record in them (fields, then lines)."""
    with open_warehouse(warehouse) as db:
        entries = [
            dict(zip(QUEUE_COLUMNS, row, strict=True))
            for row in db.execute(f"SELECT {', '.join(QUEUE_COLUMNS)} FROM review.review_queue").fetchall()
        ]
        for entry in entries:
            entry["data"] = json.loads(entry["data"]) if entry["data"] else {}
        wanted: dict[str, dict[tuple[str, str, str, str], str]] = {}  # entity -> record -> its label
        for e in entries:
            if e["platform_id"] and e["qbo_id"] and e["entity"] in rendered():
                key = (e["tenant_id"], e["realm_id"], e["platform_id"], e["qbo_id"])
                wanted.setdefault(e["entity"], {})[key] = e["label"]
        names = _names(db)
        records = [
            record for entity, keys in wanted.items() for record in _record_pages(db, entity, keys, names)
        ]
    return entries, records


NAMED = {"Customer": "display_name", "Vendor": "display_name", "Item": "name"}  # what a link shows


def _names(db: WarehouseSQL) -> dict[tuple[str, str, str], str]:
    """(entity, realm, QBO Id) -> the name people know a linked record by."""
    found = {}
    for entity, column in NAMED.items():
        table = f"stg_qbo__{rendered()[entity]['table']}s"
        for realm, qbo_id, name in db.execute(
            f"SELECT realm_id, qbo_id, {column} FROM staging.{table}"
        ).fetchall():
            found[(entity, str(realm), str(qbo_id))] = name
    return found


def _named(link: str | None, realm: str, value: Any, names: dict[tuple[str, str, str], str]) -> Any:
    """A linked record's QBO Id as its name and Id (`Cedar & Pine (#12)`); other values as they are."""
    name = names.get((link or "", realm, str(value))) if value is not None else None
    return f"{name} (#{value})" if name else value


def _record_pages(
    db: WarehouseSQL,
    entity: str,
    keys: dict[tuple[str, str, str, str], str],
    known: dict[tuple[str, str, str], str],
) -> list[dict[str, Any]]:
    """Each record's fields side by side (shown values, and whether they compare equal), and its lines;
    links shown by the linked record's name."""
    spec = rendered()[entity]
    names = [f["name"] for f in spec["fields"]]
    links = {f["name"]: f["link"] for f in spec["fields"]}
    table = spec["table"]
    platform = _side(db, f"int_sync__{table}_platform", "tenant_id, platform_id", names)
    qbo = _side(db, f"int_sync__{table}_qbo", "realm_id, qbo_id", names)
    lines = spec["lines"]
    line_names = ["line_key", *(f["name"] for f in lines["fields"])] if lines else []
    platform_lines = _lines(db, f"int_sync__{table}_lines_platform", "tenant_id", line_names) if lines else {}
    qbo_lines = _lines(db, f"int_sync__{table}_lines_qbo", "realm_id", line_names) if lines else {}
    pages = []
    for (tenant_id, realm_id, platform_id, qbo_id), label in sorted(keys.items()):
        p = platform.get((tenant_id, platform_id), {})
        q = qbo.get((realm_id, qbo_id), {})
        fields = [
            {
                "field": name,
                "platform": _named(links[name], realm_id, p.get(f"v__{name}"), known),
                "qbo": _named(links[name], realm_id, q.get(f"v__{name}"), known),
                "differs": p.get(f"n__{name}") != q.get(f"n__{name}"),
            }
            for name in names
        ]
        detail: dict[str, Any] = {"fields": fields}
        if lines:
            line_links = [lines["key"]["link"], *(f["link"] for f in lines["fields"])]
            detail["lines"] = {
                "columns": line_names,
                **{
                    side: [
                        [_named(link, realm_id, v, known) for link, v in zip(line_links, row, strict=True)]
                        for row in rows
                    ]
                    for side, rows in (
                        ("platform", platform_lines.get((tenant_id, platform_id), [])),
                        ("qbo", qbo_lines.get((realm_id, qbo_id), [])),
                    )
                },
            }
        pages.append(
            {
                "tenant_id": tenant_id,
                "entity": entity,
                "platform_id": platform_id,
                "qbo_id": qbo_id,
                "realm_id": realm_id,
                "label": label,
                "detail": detail,
            }
        )
    return pages


def _side(db: WarehouseSQL, model: str, key: str, names: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    columns = ", ".join(f"v__{n}, cast(n__{n} as varchar) as n__{n}" for n in names)
    cursor = db.execute(f"SELECT {key}, {columns} FROM intermediate.{model}")
    labels = [d[0] for d in cursor.description]
    out = {}
    for row in cursor.fetchall():
        values = dict(zip(labels, row, strict=True))
        out[(str(row[0]), str(row[1]))] = values
    return out


def _lines(
    db: WarehouseSQL, model: str, scope: str, names: list[str]
) -> dict[tuple[str, str], list[list[Any]]]:
    columns = ", ".join(f"v__{n}" for n in names)
    out: dict[tuple[str, str], list[list[Any]]] = {}
    for row in db.execute(
        f"SELECT {scope}, record_id, {columns} FROM intermediate.{model} ORDER BY {scope}, record_id, "
        f"{db.try_cast('v__line_key', 'BIGINT')} NULLS LAST, v__line_key, "
        + ", ".join(str(n) for n in range(3, len(names) + 3))  # lines without a key: by their values
    ).fetchall():
        out.setdefault((str(row[0]), str(row[1])), []).append(list(row[2:]))
    return out


def publish_review(warehouse: Warehouse, store: IntegrationStore) -> int:
    """Replace the store's review queues with the warehouse's; returns how many entries."""
    entries, records = read_review(warehouse)
    return store.review.publish(entries, records)
