"""References for the gateway, read from the warehouse after each transform (store/references.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.mapping.order import ORDER
from pipelines.mapping.payloads import pushable
from pipelines.mapping.rendering import rendered
from pipelines.store.integration_store import IntegrationStore
from pipelines.store.references import reference_row


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
                        f"SELECT realm_id, {f['name']} FROM staging.{_table_of(entity)} "
                        f"WHERE NOT is_deleted AND {f['name']} IS NOT NULL "
                        f"GROUP BY realm_id, {f['name']} QUALIFY row_number() OVER (PARTITION BY realm_id "
                        f"ORDER BY count(*) DESC, {f['name']}) = 1"
                    ).fetchall():
                        rows.append(
                            reference_row(realm, "default", f"{entity}.{f['name']}", "", value, None, now)
                        )
    return list({(r["realm_id"], r["kind"], r["scope"], r["name"]): r for r in rows}.values())


def publish(warehouse: Path, store: IntegrationStore) -> int:
    """Replace the store's references with the warehouse's; returns how many."""
    return store.references.replace_all(read_warehouse(warehouse))
