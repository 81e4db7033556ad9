"""What a real-time push needs to know of QBO, kept in the integration store: the gateway never opens the
warehouse (DuckDB has one writer, and it is not the web service; DESIGN decision 10).

Published after every transform (transform/publish.py): each linked record's QBO Id and SyncToken, the
list records a name resolves to (Term.Name, PaymentMethod.Name), and the realm's usual value of each
`create_default` field. A real-time push then moves its record's row forward (new Id, new SyncToken),
so the next push of the same record is an update at the right SyncToken even before the next sync.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Delete, Engine, delete, select

from pipelines.store.schema import references


def reference_row(
    realm: str, kind: str, scope: str, name: str, qbo_id: Any, token: Any, now: datetime
) -> dict:
    return {
        "realm_id": realm,
        "kind": kind,
        "scope": scope,
        "name": name,
        "qbo_id": str(qbo_id),
        "sync_token": None if token is None else str(token),
        "published_at": now,
    }


class References:
    """Reads of the published references, and the moves real-time pushes make."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def replace_all(self, rows: list[dict[str, Any]]) -> int:
        """Replace every reference with these (one transaction: readers see the old set or the new)."""
        with self.engine.begin() as conn:
            conn.execute(delete(references))
            for start in range(0, len(rows), 1000):
                conn.execute(references.insert(), rows[start : start + 1000])
        return len(rows)

    def platform_record(self, realm_id: str, entity: str, qbo_id: str) -> tuple[str, str] | None:
        """(tenant, platform id) of the platform record linked to a QBO record."""
        records = self.platform_records(realm_id, entity, qbo_id)
        return records[0] if records else None

    def platform_records(self, realm_id: str, entity: str, qbo_id: str) -> list[tuple[str, str]]:
        """Every (tenant, platform id) linked to a QBO record: more than one is a claim to refuse."""
        with self.engine.connect() as conn:
            names = conn.scalars(
                select(references.c.name)
                .where(
                    references.c.realm_id == realm_id,
                    references.c.kind == "link",
                    references.c.scope == entity,
                    references.c.qbo_id == qbo_id,
                )
                .order_by(references.c.name)
            ).all()
        return [(tenant, platform_id) for tenant, _, platform_id in (n.partition("|") for n in names)]

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
        values = reference_row(
            realm_id,
            "link",
            entity,
            f"{tenant_id}|{platform_id}",
            doc["Id"],
            doc.get("SyncToken"),
            datetime.now(UTC),
        )
        with self.engine.begin() as conn:
            conn.execute(self._unlink(realm_id, entity, tenant_id, platform_id))
            conn.execute(references.insert().values(**values))

    def forget(self, realm_id: str, entity: str, tenant_id: str, platform_id: str) -> None:
        """QBO no longer has the linked record (a 404 / 610 on push): the platform record is unlinked, so its
        next push creates it again rather than updating what is gone."""
        with self.engine.begin() as conn:
            conn.execute(self._unlink(realm_id, entity, tenant_id, platform_id))

    @staticmethod
    def _unlink(realm_id: str, entity: str, tenant_id: str, platform_id: str) -> Delete:
        return delete(references).where(
            references.c.realm_id == realm_id,
            references.c.kind == "link",
            references.c.scope == entity,
            references.c.name == f"{tenant_id}|{platform_id}",
        )
