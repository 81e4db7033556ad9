"""What `qbo ask` and `qbo mcp` were asked and did: the audit of every call, and the drafted writes.

A drafted write waits here for a person (`qbo approve --draft N`); it is never sent before. The audit
holds the intent, the query actually run, where it ran and how many rows came back, and who asked.

Whatever drafted it, a write is kept only within the DTOs' bounds: an amount or quantity QBO or the
warehouse cannot hold (1E+30, NaN, more decimals than cents) makes it `incomplete`, with the error DTO
naming the field, so no person can approve it; and NaN or Infinity is kept as text, never as a JSON
number PostgreSQL refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from pipelines.store.pruning import BATCH, prune_rows
from pipelines.store.schema import intent_audit, intent_writes, json_safe
from sources.platform.bounds import BOUNDED
from sources.platform.errors import detail, error_dto, field_path

OUT_OF_BOUNDS = "DRAFT_OUT_OF_BOUNDS"


def out_of_bounds(value: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """A detail for every amount or quantity in a drafted record that the DTOs' bounds refuse."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            bound = BOUNDED.get(key) if isinstance(key, str) else None
            problem = None if bound is None else bound.problem(inner)
            if problem is not None:
                found.append(detail(field_path((*path, key)), *problem))
            else:
                found += out_of_bounds(inner, (*path, str(key)))
    elif isinstance(value, list):
        for at, inner in enumerate(value):
            found += out_of_bounds(inner, (*path, at))
    return found


def _with_bounds(error: dict[str, Any] | None, problems: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The draft's error DTO, with what is out of bounds added (once per field)."""
    if not problems:
        return error
    if error is None:
        message = "the draft holds an amount or quantity QBO cannot: fix the field(s) named and draft again"
        return error_dto(OUT_OF_BOUNDS, message, problems)
    named = {d.get("field") for d in error.get("details", [])}
    return {
        **error,
        "details": [*error.get("details", []), *(d for d in problems if d["field"] not in named)],
    }


class Intents:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def audit(self, **values: Any) -> None:
        """One call: caller, question, intent, realm_id, ran_on, query, rows, note."""
        with self.engine.begin() as conn:
            conn.execute(insert(intent_audit).values(at=datetime.now(UTC), **json_safe(values)))

    def prune_audit(self, before: datetime, *, batch: int = BATCH, dry_run: bool = False) -> dict[str, int]:
        """Forget the audit of calls made before `before`; drafted writes are not touched."""
        condition = intent_audit.c.at < before
        return {
            intent_audit.name: prune_rows(self.engine, intent_audit, condition, batch=batch, dry_run=dry_run)
        }

    def queue_write(
        self,
        caller: str,
        realm_id: str,
        entity: str,
        record: dict[str, Any],
        error: dict[str, Any] | None,
    ) -> tuple[int, str]:
        """Queue a drafted record: pending when it checked out, incomplete (with its error DTO) if not, or
        if an amount or quantity in it is out of the DTOs' bounds."""
        error = json_safe(_with_bounds(error, out_of_bounds(record)))
        record = json_safe(record)
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
