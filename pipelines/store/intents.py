"""What `qbo ask` and `qbo mcp` were asked and did: the audit of every call, and the drafted writes.

A drafted write waits here for a person (`qbo approve --draft N`); it is never sent before. The audit
holds the intent, the query actually run, where it ran and how many rows came back, and who asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from pipelines.store.schema import intent_audit, intent_writes


class Intents:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def audit(self, **values: Any) -> None:
        """One call: caller, question, intent, realm_id, ran_on, query, rows, note."""
        with self.engine.begin() as conn:
            conn.execute(insert(intent_audit).values(at=datetime.now(UTC), **values))

    def queue_write(
        self,
        caller: str,
        realm_id: str,
        entity: str,
        record: dict[str, Any],
        error: dict[str, Any] | None,
    ) -> tuple[int, str]:
        """Queue a drafted record: pending when it checked out, incomplete (with its error DTO) if not."""
        status = "pending" if error is None else "incomplete"
        with self.engine.begin() as conn:
            queued = conn.execute(
                insert(intent_writes).values(
                    at=datetime.now(UTC),
                    caller=caller,
                    realm_id=realm_id,
                    entity=entity,
                    record=record,
                    status=status,
                    error=error,
                )
            ).inserted_primary_key[0]
        return int(queued), status

    def write(self, write_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(intent_writes).where(intent_writes.c.id == write_id)).mappings().first()
        return None if row is None else dict(row)

    def pending_writes(self) -> list[dict[str, Any]]:
        """Writes that wait for a person (`qbo approve --draft N`)."""
        query = select(intent_writes).where(intent_writes.c.status == "pending").order_by(intent_writes.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def settle_write(self, write_id: int, approved: bool, approved_by: str, result: dict[str, Any]) -> None:
        """Keep what the push answered; a write QBO refused stays pending for another try."""
        with self.engine.begin() as conn:
            conn.execute(
                update(intent_writes)
                .where(intent_writes.c.id == write_id, intent_writes.c.status == "pending")
                .values(status="approved" if approved else "pending", approved_by=approved_by, result=result)
            )

    def reject_write(self, write_id: int, reviewer: str, reason: str | None = None) -> bool:
        """A person refuses a drafted write: it is never sent; who and why stay with it. False when it
        was not awaiting approval."""
        note = {
            "rejectedBy": reviewer,
            "reason": (reason or "").strip()[:2000] or None,
            "rejectedAt": datetime.now(UTC).isoformat(),
        }
        with self.engine.begin() as conn:
            result = conn.execute(
                update(intent_writes)
                .where(intent_writes.c.id == write_id, intent_writes.c.status.in_(("pending", "incomplete")))
                .values(status="rejected", approved_by=reviewer[:128], result=note)
            )
        return bool(result.rowcount)
