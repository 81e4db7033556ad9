"""The outbox: what QBO changed, as platform DTOs, in the order the platform should apply it.

The deliver job (pipelines/deliver/) appends; the gateway and `qbo platform changes` read. Each row's
`id` only grows: it is the cursor a platform pages with and acknowledges. `change_id` names one QBO
change (realm, entity, Id, operation and the version QBO gave it), so the same change enqueued twice is
stored once. A tenant's acknowledged cursor is kept here too: `pending` starts after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update

from pipelines.store.pruning import BATCH, newer_exists, prune_rows
from pipelines.store.schema import outbox, outbox_cursors

OPERATIONS = ("upsert", "delete", "merge", "void")
MAX_PAGE = 500
CURSOR = outbox_cursors.c.cursor


def change_id(realm_id: str, entity: str, qbo_id: str, operation: str, version: Any) -> str:
    """A stable name of one QBO change; `version` is its SyncToken or LastUpdatedTime (or deleted time)."""
    text = "|".join(str(part) for part in (realm_id, entity, qbo_id, operation, version))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stored(self, changes: Iterable[str]) -> set[str]:
        """Which of these change ids the outbox holds already (a query per 500, not one per change)."""
        return self._found(outbox.c.change_id, list(changes))

    def delivered(self, realm_id: str, entity: str, qbo_ids: Iterable[str]) -> set[str]:
        """Which of these QBO records the outbox ever delivered (so the platform may have them)."""
        where = (outbox.c.realm_id == realm_id, outbox.c.entity == entity)
        return self._found(outbox.c.qbo_id, [str(i) for i in qbo_ids], *where)

    def _found(self, column: Any, values: list[str], *where: Any) -> set[str]:
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                found.update(conn.scalars(select(column).distinct().where(column.in_(chunk), *where)))
        return found

    def append(
        self,
        *,
        change: str,
        tenant_id: str,
        realm_id: str,
        entity: str,
        operation: str,
        qbo_id: str,
        platform_id: str | None,
        dto: dict[str, Any],
    ) -> int | None:
        """Store a change; the cursor it got, or None when that change is already stored."""
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
        with self.engine.begin() as conn:
            if conn.scalar(select(outbox.c.id).where(outbox.c.change_id == change)) is not None:
                return None
            result = conn.execute(
                insert(outbox).values(
                    change_id=change,
                    tenant_id=tenant_id,
                    realm_id=realm_id,
                    entity=entity,
                    operation=operation,
                    qbo_id=str(qbo_id),
                    platform_id=platform_id,
                    dto=dto,
                    created_at=datetime.now(UTC),
                )
            )
            return int(result.inserted_primary_key[0])

    def page(self, tenant_id: str, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """A tenant's changes after a cursor, oldest first; at most `limit` (≤ 500)."""
        limit = max(1, min(int(limit), MAX_PAGE))
        query = (
            select(outbox)
            .where(outbox.c.tenant_id == tenant_id, outbox.c.id > after)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_change(row) for row in conn.execute(query).mappings()]

    def acknowledged(self, tenant_id: str) -> int:
        with self.engine.connect() as conn:
            cursor = conn.scalar(
                select(outbox_cursors.c.cursor).where(outbox_cursors.c.tenant_id == tenant_id)
            )
        return int(cursor or 0)

    def acknowledge(self, tenant_id: str, cursor: int) -> int:
        """The platform applied everything up to `cursor`; the acknowledged cursor never moves back."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            last = conn.scalar(select(func.max(outbox.c.id)).where(outbox.c.tenant_id == tenant_id)) or 0
            cursor = max(0, min(int(cursor), int(last)))
            known = conn.scalar(
                select(outbox_cursors.c.cursor).where(outbox_cursors.c.tenant_id == tenant_id)
            )
            if known is None:
                conn.execute(
                    insert(outbox_cursors).values(tenant_id=tenant_id, cursor=cursor, acknowledged_at=now)
                )
                return cursor
            cursor = max(cursor, int(known))
            conn.execute(
                update(outbox_cursors)
                .where(outbox_cursors.c.tenant_id == tenant_id)
                .values(cursor=cursor, acknowledged_at=now)
            )
            return cursor

    def tenants(self) -> list[str]:
        """The tenants with changes in the outbox."""
        with self.engine.connect() as conn:
            return list(conn.scalars(select(outbox.c.tenant_id).distinct().order_by(outbox.c.tenant_id)))

    def pending(self, tenant_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The changes after the tenant's acknowledged cursor."""
        return self.page(tenant_id, self.acknowledged(tenant_id), limit)

    def prune(self, before: datetime, *, batch: int = BATCH, dry_run: bool = False) -> dict[str, int]:
        """Forget changes stored before `before` that their tenant acknowledged. A record's latest change
        of each operation stays: the next delivery knows it stored that change (`stored`) and that the
        platform has the record (`delivered`), so a QBO delete still reaches the platform."""
        c = outbox.c
        acknowledged = (
            select(outbox_cursors.c.cursor).where(outbox_cursors.c.tenant_id == c.tenant_id).scalar_subquery()
        )
        condition = and_(
            c.created_at < before,
            c.id <= acknowledged,
            newer_exists(outbox, "realm_id", "entity", "qbo_id", "operation"),
        )
        return {outbox.name: prune_rows(self.engine, outbox, condition, batch=batch, dry_run=dry_run)}


def _change(row: Any) -> dict[str, Any]:
    return {
        "cursor": row["id"],
        "changeId": row["change_id"],
        "tenantId": row["tenant_id"],
        "realmId": row["realm_id"],
        "entity": row["entity"],
        "operation": row["operation"],
        "qboId": row["qbo_id"],
        "platformId": row["platform_id"],
        "record": row["dto"],
        "createdAt": row["created_at"].isoformat() if row["created_at"] else None,
    }
