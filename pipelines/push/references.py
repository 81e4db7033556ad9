"""What a real-time push needs to know of QBO, kept in the integration store: the gateway never opens the
warehouse (DuckDB has one writer, and it is not the web service; DESIGN decision 10).

Published after every transform from the warehouse: each linked record's QBO Id and SyncToken, the
list records a name resolves to (Term.Name, PaymentMethod.Name), and the realm's usual value of each
`create_default` field. A real-time push then moves its record's row forward (new Id, new SyncToken),
so the next push of the same record is an update at the right SyncToken even before the next sync.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import delete, select

from pipelines.integration_store import IntegrationStore, references
from pipelines.mapping import rendered
from pipelines.push.payloads import pushable
from pipelines.push.plan import ORDER


def _table_of(entity: str) -> str:
    return f"stg_qbo__{rendered()[entity]['table']}s"


def read_warehouse(warehouse: Path) -> list[dict[str, Any]]:
    """Every reference the warehouse knows, as rows of `qbo_references`."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    with duckdb.connect(str(warehouse), read_only=True) as db:
        for entity in ORDER:
            for realm, tenant, platform_id, qbo_id, token in db.execute(
                f"SELECT m.realm_id, m.tenant_id, m.platform_id, m.qbo_id, q.sync_token "
                f"FROM sync.sync_mappings m JOIN staging.{_table_of(entity)} q "
                "ON q.realm_id = m.realm_id AND q.qbo_id = m.qbo_id AND NOT q.is_deleted "
                "WHERE m.entity = ? AND m.status = 'linked'",
                [entity],
            ).fetchall():
                rows.append(_row(realm, "link", entity, f"{tenant}|{platform_id}", qbo_id, token, now))
            for f in pushable(entity):
                if f["lookup_table"]:
                    table = f"stg_qbo__{f['lookup_table']}s"
                    for realm, name, qbo_id in db.execute(
                        f"SELECT realm_id, lower({f['lookup_column']}), qbo_id FROM staging.{table} "
                        f"WHERE NOT is_deleted AND {f['lookup_column']} IS NOT NULL"
                    ).fetchall():
                        rows.append(_row(realm, "lookup", f["lookup_table"], name, qbo_id, None, now))
                if f["create_default"] == "most_common":
                    for realm, value in db.execute(
                        f"SELECT realm_id, {f['name']} FROM staging.{_table_of(entity)} "
                        f"WHERE NOT is_deleted AND {f['name']} IS NOT NULL "
                        f"GROUP BY realm_id, {f['name']} QUALIFY row_number() OVER (PARTITION BY realm_id "
                        f"ORDER BY count(*) DESC, {f['name']}) = 1"
                    ).fetchall():
                        rows.append(_row(realm, "default", f"{entity}.{f['name']}", "", value, None, now))
    return list({(r["realm_id"], r["kind"], r["scope"], r["name"]): r for r in rows}.values())


def _row(realm: str, kind: str, scope: str, name: str, qbo_id: Any, token: Any, now: datetime) -> dict:
    return {
        "realm_id": realm,
        "kind": kind,
        "scope": scope,
        "name": name,
        "qbo_id": str(qbo_id),
        "sync_token": None if token is None else str(token),
        "published_at": now,
    }


def publish(warehouse: Path, store: IntegrationStore) -> int:
    """Replace the store's references with the warehouse's, in one transaction; returns how many."""
    rows = read_warehouse(warehouse)
    with store.engine.begin() as conn:
        conn.execute(delete(references))
        for start in range(0, len(rows), 1000):
            conn.execute(references.insert(), rows[start : start + 1000])
    return len(rows)


class References:
    """Reads of the published references, and the moves real-time pushes make."""

    def __init__(self, store: IntegrationStore) -> None:
        self.engine = store.engine

    def _get(self, realm_id: str, kind: str, scope: str, name: str) -> tuple[str, str | None] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(references.c.qbo_id, references.c.sync_token).where(
                    references.c.realm_id == realm_id,
                    references.c.kind == kind,
                    references.c.scope == scope,
                    references.c.name == name,
                )
            ).first()
        return (row[0], row[1]) if row else None

    def link(
        self, realm_id: str, entity: str, tenant_id: str, platform_id: str
    ) -> tuple[str, str | None] | None:
        """(QBO Id, SyncToken) of the record a platform record is linked to."""
        return self._get(realm_id, "link", entity, f"{tenant_id}|{platform_id}")

    def lookup(self, realm_id: str, table: str, name: str) -> str | None:
        found = self._get(realm_id, "lookup", table, name.lower())
        return found[0] if found else None

    def name_of(self, realm_id: str, table: str, qbo_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(
                select(references.c.name).where(
                    references.c.realm_id == realm_id,
                    references.c.kind == "lookup",
                    references.c.scope == table,
                    references.c.qbo_id == qbo_id,
                )
            )

    def default(self, realm_id: str, entity: str, field: str) -> str | None:
        found = self._get(realm_id, "default", f"{entity}.{field}", "")
        return found[0] if found else None

    def moved(
        self, realm_id: str, entity: str, tenant_id: str, platform_id: str, doc: dict[str, Any]
    ) -> None:
        """A push answered with the record as QBO now has it: link to it at its new SyncToken."""
        values = _row(
            realm_id,
            "link",
            entity,
            f"{tenant_id}|{platform_id}",
            doc["Id"],
            doc.get("SyncToken"),
            datetime.now(UTC),
        )
        with self.engine.begin() as conn:
            conn.execute(
                delete(references).where(
                    references.c.realm_id == realm_id,
                    references.c.kind == "link",
                    references.c.scope == entity,
                    references.c.name == values["name"],
                )
            )
            conn.execute(references.insert().values(**values))
