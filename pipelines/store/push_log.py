"""Push outcomes, one row per operation QBO answered (or pre-flight refused), until the warehouse has them.

The batch push, the gateway's real-time pushes and approved drafts all record here; the next push or
drain lands the rows not yet landed into `raw_push.push_log` (runtime/landing.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, not_, select, update

from pipelines.store.pruning import BATCH, newer_exists, prune_rows
from pipelines.store.schema import push_results


class PushLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, **values: Any) -> None:
        """One operation's outcome; recording the same (request_id, bid) again replaces it (a resent
        batch gets QBO's replayed answer)."""
        self.record_many([values])

    def record_many(self, rows: list[dict[str, Any]]) -> None:
        """A batch's outcomes in one transaction: all of them or none are on record (a push killed while
        writing resends the whole batch, whose requestid replays QBO's answers), and one commit per
        /batch call instead of one per operation."""
        if not rows:
            return
        c = push_results.c
        with self.engine.begin() as conn:
            for values in rows:
                conn.execute(
                    delete(push_results).where(c.request_id == values["request_id"], c.bid == values["bid"])
                )
            for values in rows:
                conn.execute(insert(push_results).values(**values))

    def results(self, *, landed: bool | None = None, realm_id: str | None = None) -> list[dict[str, Any]]:
        query = select(push_results).order_by(push_results.c.id)
        if landed is not None:
            query = query.where(push_results.c.landed == landed)
        if realm_id is not None:
            query = query.where(push_results.c.realm_id == realm_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def mark_landed(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                conn.execute(
                    update(push_results)
                    .where(push_results.c.id.in_(ids[start : start + 500]))
                    .values(landed=True)
                )

    def created_links(self, realm_id: str) -> dict[tuple[str, str, str], str]:
        """(entity, tenant, platform id) -> QBO Id of every record pushes created in the realm. Asked
        between a push's entities: four columns, never the documents (a push of thousands re-read
        them all each time)."""
        c = push_results.c
        query = (
            select(c.entity, c.tenant_id, c.platform_id, c.qbo_id)
            .where(
                c.realm_id == realm_id,
                c.outcome == "ok",
                c.operation == "create",
                c.qbo_id.is_not(None),
                c.qbo_id != "",
            )
            .order_by(c.id)
        )
        with self.engine.connect() as conn:
            return {(e, t, p): q for e, t, p, q in conn.execute(query).all()}

    def pushed(self) -> dict[tuple[str, str, str, str], str]:
        """(entity, tenant, platform id, payload hash) -> what QBO last said of that very payload."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    push_results.c.entity,
                    push_results.c.tenant_id,
                    push_results.c.platform_id,
                    push_results.c.payload_hash,
                    push_results.c.outcome,
                ).order_by(push_results.c.id)
            ).all()
        return {(e, t, p, h): outcome for e, t, p, h, outcome in rows}

    def refusals(self) -> dict[tuple[str, str, str, str], dict[str, Any]]:
        """(entity, tenant, platform id, payload hash) -> the last refusal of that very payload (outcome,
        error DTO, when, QBO Id): why `qbo push` does not send it again until the record changes."""
        c = push_results.c
        query = (
            select(
                c.entity,
                c.tenant_id,
                c.platform_id,
                c.payload_hash,
                c.outcome,
                c.error,
                c.pushed_at,
                c.qbo_id,
            )
            .where(c.outcome != "ok")
            .order_by(c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return {(r["entity"], r["tenant_id"], r["platform_id"], r["payload_hash"]): dict(r) for r in rows}

    def for_record(
        self, entity: str, tenant_id: str, platform_id: str, limit: int = 20
    ) -> list[dict[str, Any]]:
        """One record's pushes, newest first: its history on the review console's record page."""
        c = push_results.c
        query = (
            select(c.pushed_at, c.operation, c.outcome, c.qbo_id, c.sync_token, c.error)
            .where(c.entity == entity, c.tenant_id == tenant_id, c.platform_id == platform_id)
            .order_by(c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def prune(self, before: datetime, *, batch: int = BATCH, dry_run: bool = False) -> dict[str, int]:
        """Forget outcomes pushed before `before`, but never one the warehouse has not landed, a record's
        latest (`pushed()` says "already pushed" from it), nor a create QBO accepted (`created_links`)."""
        c = push_results.c
        created = and_(c.outcome == "ok", c.operation == "create", c.qbo_id.is_not(None))
        condition = and_(
            c.pushed_at < before,
            c.landed.is_(True),
            not_(created),
            newer_exists(push_results, "entity", "tenant_id", "platform_id"),
        )
        return {
            push_results.name: prune_rows(self.engine, push_results, condition, batch=batch, dry_run=dry_run)
        }
