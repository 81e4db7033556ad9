"""Approvals of destructive operations (voids, deactivations): attributed rows the push reads."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from pipelines.store.schema import approvals


class Approvals:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def approve(
        self, tenant_id: str, entity: str, platform_id: str, operation: str, approved_by: str
    ) -> bool:
        """Record an approval; False when it was already approved."""
        with self.engine.begin() as conn:
            existing = conn.execute(
                select(approvals.c.id).where(
                    approvals.c.tenant_id == tenant_id,
                    approvals.c.entity == entity,
                    approvals.c.platform_id == platform_id,
                    approvals.c.operation == operation,
                )
            ).first()
            if existing:
                return False
            conn.execute(
                insert(approvals).values(
                    tenant_id=tenant_id,
                    entity=entity,
                    platform_id=platform_id,
                    operation=operation,
                    approved_by=approved_by,
                    approved_at=datetime.now(UTC),
                )
            )
        return True

    def approved(self) -> set[tuple[str, str, str, str]]:
        """(entity, tenant, platform id, operation) of approved destructive operations."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    approvals.c.entity, approvals.c.tenant_id, approvals.c.platform_id, approvals.c.operation
                )
            ).all()
        return {tuple(r) for r in rows}  # type: ignore[misc]
