"""Sync runs and integration errors: what `qbo status` reports, and what support reads first.

An error row carries realm, entity, code, message and intuit_tid (what support needs) and never a
token: messages pass through the same redaction as QBO's own errors.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, desc, func, insert, or_, select

from pipelines.store.pruning import BATCH, newer_exists, prune_rows
from pipelines.store.schema import integration_errors, sync_runs
from sources.quickbooks.errors import QboError, redact


@dataclass
class RunRecord:
    realm_id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    rows: dict[str, int]
    requests: int | None
    notes: str | None

    @classmethod
    def of(cls, row: Any) -> RunRecord:
        rows = row["rows"] if isinstance(row["rows"], dict) else json.loads(row["rows"] or "{}")
        return cls(
            row["realm_id"],
            row["kind"],
            row["started_at"],
            row["finished_at"],
            row["status"],
            rows,
            row["requests"],
            row["notes"],
        )


class SyncRuns:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        realm_id: str,
        kind: str,
        started_at: datetime,
        status: str,
        rows: dict[str, int],
        requests: int | None,
        notes: list[str],
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(sync_runs).values(
                    realm_id=realm_id,
                    kind=kind,
                    started_at=started_at,
                    finished_at=datetime.now(UTC),
                    status=status,
                    rows=rows,
                    requests=requests,
                    notes="\n".join(notes) or None,
                )
            )

    def last(self, realm_id: str, kind: str = "sync", limit: int = 1) -> list[RunRecord]:
        query = (
            select(sync_runs)
            .where(sync_runs.c.realm_id == realm_id, sync_runs.c.kind == kind)
            .order_by(desc(sync_runs.c.id))
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [RunRecord.of(r) for r in conn.execute(query).mappings().all()]

    def last_ok(self, realm_id: str, kind: str | None = "sync") -> RunRecord | None:
        """The realm's last successful run of `kind` (sync, backfill, push; None: of any kind)."""
        query = (
            select(sync_runs)
            .where(sync_runs.c.realm_id == realm_id, sync_runs.c.status == "ok")
            .order_by(desc(sync_runs.c.id))
            .limit(1)
        )
        if kind is not None:
            query = query.where(sync_runs.c.kind == kind)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else RunRecord.of(row)

    def prune(self, before: datetime, *, batch: int = BATCH, dry_run: bool = False) -> dict[str, int]:
        """Forget runs started before `before`, but never a realm's last run of each kind nor its last
        successful one of each kind (`qbo status`, `qbo ask` and the console read them: a push that
        succeeded since does not make the last good sync forgettable)."""
        c = sync_runs.c
        condition = and_(
            c.started_at < before,
            newer_exists(sync_runs, "realm_id", "kind"),
            or_(
                c.status != "ok",
                newer_exists(sync_runs, "realm_id", "kind", where=lambda newer: newer.status == "ok"),
            ),
        )
        return {sync_runs.name: prune_rows(self.engine, sync_runs, condition, batch=batch, dry_run=dry_run)}


class IntegrationErrors:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        error: BaseException,
        realm_id: str | None,
        entity: str | None = None,
        operation: str | None = None,
    ) -> None:
        """Typed QBO errors keep their code, element and intuit_tid; anything else is `CONNECTOR`."""
        if isinstance(error, QboError):
            values: dict[str, Any] = {
                "code": error.code,
                "message": error.message,
                "element": error.element,
                "intuit_tid": error.intuit_tid,
                "details": error.to_dto()["details"],
            }
        else:
            values = {
                "code": "CONNECTOR",
                "message": redact(f"{type(error).__name__}: {error}")[:2000],
                "element": None,
                "intuit_tid": None,
                "details": None,
            }
        self._insert(values, realm_id, entity, operation)

    def record_dto(
        self, dto: dict[str, Any], realm_id: str | None, entity: str | None, operation: str
    ) -> None:
        """An error DTO of the connector's own (pre-flight, conflicts): the same table as QBO's faults."""
        details = dto.get("details") or []
        values = {
            "code": dto["code"],
            "message": redact(dto["message"])[:2000],
            "element": details[0].get("field") if details else None,
            "intuit_tid": None,
            "details": details,
        }
        self._insert(values, realm_id, entity, operation)

    def current(self, realm_id: str, runs: SyncRuns) -> dict[str, Any] | None:
        """The realm's last error while it is the realm's latest outcome: None once a run of the realm
        (sync, backfill or push) succeeded after it, so a fixed failure stops being reported."""
        latest = self.recent(realm_id, limit=1)
        if not latest:
            return None
        ok = runs.last_ok(realm_id, kind=None)
        if (
            ok is not None
            and ok.finished_at is not None
            and _utc(ok.finished_at) >= _utc(latest[0]["occurred_at"])
        ):
            return None
        return latest[0]

    def recent(self, realm_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = select(integration_errors).order_by(desc(integration_errors.c.id)).limit(limit)
        if realm_id is not None:
            query = query.where(integration_errors.c.realm_id == realm_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def grouped(
        self,
        realms: Collection[str] | None = None,
        *,
        code: str | None = None,
        search: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> tuple[list[dict[str, Any]], int]:
        """The operator's view (spec §7.2): one row per realm, entity, operation, code and message, with
        how often and when first and last, and the latest occurrence's intuit_tid and details (what
        support asks for); most recent first. `realms` None: every realm, those of none included."""
        e = integration_errors.c
        where = []
        if realms is not None:
            where.append(e.realm_id.in_(list(realms)))
        if code:
            where.append(e.code == code)
        if search and search.strip():
            like = f"%{search.strip().lower()}%"
            where.append(or_(func.lower(e.message).like(like), e.intuit_tid == search.strip()))
        keys = (e.realm_id, e.entity, e.operation, e.code, e.message)
        groups = (
            select(
                *keys,
                func.count().label("count"),
                func.min(e.occurred_at).label("first_seen"),
                func.max(e.occurred_at).label("last_seen"),
                func.max(e.id).label("last_id"),
            )
            .where(*where)
            .group_by(*keys)
            .subquery()
        )
        latest = integration_errors.alias("latest")
        page_size = max(1, min(int(page_size), 200))
        query = (
            select(groups, latest.c.intuit_tid, latest.c.element, latest.c.details)
            .join(latest, latest.c.id == groups.c.last_id)
            .order_by(groups.c.last_id.desc())
            .limit(page_size)
            .offset((max(1, int(page)) - 1) * page_size)
        )
        with self.engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(groups)) or 0
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return rows, int(total)

    def codes(self, realms: Collection[str] | None = None) -> list[str]:
        """The error codes seen, for the dashboard's filter."""
        e = integration_errors.c
        query = select(e.code).distinct().order_by(e.code)
        if realms is not None:
            query = query.where(e.realm_id.in_(list(realms)))
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def prune(self, before: datetime, *, batch: int = BATCH, dry_run: bool = False) -> dict[str, int]:
        """Forget errors that occurred before `before`."""
        condition = integration_errors.c.occurred_at < before
        return {
            integration_errors.name: prune_rows(
                self.engine, integration_errors, condition, batch=batch, dry_run=dry_run
            )
        }

    def _insert(
        self, values: dict[str, Any], realm_id: str | None, entity: str | None, operation: str | None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(integration_errors).values(
                    occurred_at=datetime.now(UTC),
                    realm_id=realm_id,
                    entity=entity,
                    operation=operation,
                    **values,
                )
            )


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones: compared as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
