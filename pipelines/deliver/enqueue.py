"""`qbo platform deliver`: what QBO changed, as platform DTOs, into the outbox the platform reads.

Run after a sync or a webhook drain and the transform that follows it. It reads the warehouse
(read-only) and, per connected tenant, enqueues (store/outbox.py):

- `upsert` of a linked record whose QBO-mastered fields drifted (`sync.inbound_changes`: terms, tax
  flags, balances, statuses, whatever the tenant's policy gives QBO);
- `void` of a linked invoice voided in QBO (inbound_changes' `voided` field);
- `upsert` with a null `id` of a record QBO has and the platform does not (`sync.sync_mappings`
  status `qbo_only`): a QBO-side create, for the platform to adopt;
- `delete` of a record deleted in QBO, and `merge` of a name-list record merged into another (its DTO
  names `mergedIntoQboId`, and `mergedIntoId` when the survivor is linked), for records the platform
  has: linked ones, or ones the outbox delivered before. Deletes and merges are read from the staging
  views, so they show right after a drain.

- `upsert` of the QBO-mastered records the platform reads (Account, Employee: the spec's
  `reference` section), each time QBO changes one; their platform `id` is their QBO Id.

Upserts and voids carry the
record as QBO has it now, read from QBO in one query per entity and realm, and turned into the
platform's DTO by the mapping spec (mapping/inbound.py). Each change is named by realm, entity, Id,
operation and the version the warehouse knows (LastUpdatedTime, or the delete time): a second delivery
of the same change stores nothing. One record that cannot be read or mapped is recorded in the error
table and skipped; the others go on.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.mapping.inbound import InboundReading, reference_dto
from pipelines.mapping.order import ORDER
from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import load_spec
from pipelines.runtime.warehouse_sql import open_warehouse
from pipelines.runtime.warehouse_target import Warehouse, is_postgres, warehouse_label
from pipelines.store.outbox import change_id
from sources.quickbooks.catalog import ENTITIES
from sources.quickbooks.extract import fetch_ids

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

log = logging.getLogger("qbo.deliver")

VOIDED = "voided"  # the spec's field an invoice voided in QBO drifts on


class NotTransformed(RuntimeError):
    """The warehouse has no sync marts yet: there is nothing to compare, so nothing to deliver."""


@dataclass
class Change:
    tenant_id: str
    realm_id: str
    entity: str
    operation: str
    qbo_id: str
    platform_id: str | None
    version: Any
    merged_into: str | None = None

    @property
    def change_id(self) -> str:
        return change_id(self.realm_id, self.entity, self.qbo_id, self.operation, self.version)


@dataclass
class DeliverResult:
    enqueued: dict[str, int] = field(default_factory=dict)  # operation -> changes stored
    already: int = 0  # changes the outbox had
    failed: int = 0  # records that could not be read or mapped (see the error table)

    def summary(self) -> str:
        stored = ", ".join(f"{n} {op}" for op, n in sorted(self.enqueued.items())) or "nothing new"
        failed = f"; {self.failed} failed (qbo status shows why)" if self.failed else ""
        return f"delivered: {stored} ({self.already} already in the outbox){failed}"


def _plural(table: str) -> str:
    return f"stg_qbo__{table}s"


def read_changes(warehouse: Warehouse, realms: dict[str, str]) -> tuple[list[Change], dict[str, dict]]:
    """The changes the warehouse shows for these realms (realm -> tenant), and per realm its links
    ((entity, qbo id) -> platform id) and lookups (list table -> QBO Id -> name)."""
    spec = rendered()
    changes: list[Change] = []
    context: dict[str, dict] = {r: {"links": {}, "lookups": defaultdict(dict)} for r in realms}
    wanted = list(realms)
    if not wanted:
        return [], context
    marks = ", ".join("?" for _ in wanted)
    label = warehouse_label(warehouse)
    if not is_postgres(warehouse) and not Path(warehouse).exists():
        raise NotTransformed(f"no warehouse at {label}: run `qbo sync` and `qbo transform` first")
    with open_warehouse(warehouse) as db:
        if not {"inbound_changes", "sync_mappings"} <= db.tables("sync"):
            raise NotTransformed(f"{label} has no sync marts yet: run `qbo transform` first")
        for entity, realm, qbo_id, platform_id in db.execute(
            "SELECT entity, realm_id, qbo_id, platform_id FROM sync.sync_mappings "
            f"WHERE status IN ('linked', 'linked_qbo_deleted') AND realm_id IN ({marks})",
            wanted,
        ).fetchall():
            context[realm]["links"][(entity, str(qbo_id))] = platform_id
        lookups = {(f["lookup_table"], f["lookup_column"]) for e in spec.values() for f in e["fields"]}
        for table, column in sorted(lookup for lookup in lookups if lookup[0]):
            for realm, qbo_id, name in db.execute(
                f"SELECT realm_id, qbo_id, {column} FROM staging.{_plural(table)} "
                f"WHERE realm_id IN ({marks})",
                wanted,
            ).fetchall():
                context[realm]["lookups"][table][str(qbo_id)] = name
        for entity, realm, platform_id, qbo_id, updated, voided in db.execute(
            "SELECT entity, realm_id, platform_id, qbo_id, max(qbo_updated_at), "
            f"bool_or(field = '{VOIDED}' AND lower(cast(new_value AS varchar)) = 'true') "
            f"FROM sync.inbound_changes WHERE realm_id IN ({marks}) "
            "GROUP BY entity, realm_id, platform_id, qbo_id",
            wanted,
        ).fetchall():
            operation = "void" if voided else "upsert"
            changes.append(
                Change(realms[realm], realm, entity, operation, str(qbo_id), platform_id, _utc(updated))
            )
        for entity, realm, qbo_id, updated in db.execute(
            "SELECT entity, realm_id, qbo_id, qbo_updated_at FROM sync.sync_mappings "
            f"WHERE status = 'qbo_only' AND realm_id IN ({marks})",
            wanted,
        ).fetchall():
            changes.append(Change(realms[realm], realm, entity, "upsert", str(qbo_id), None, _utc(updated)))
        for entity in load_spec().reference:
            for realm, qbo_id, updated in db.execute(
                f"SELECT realm_id, qbo_id, updated_at FROM staging.{_plural(entity.lower())} "
                f"WHERE NOT is_deleted AND realm_id IN ({marks})",
                wanted,
            ).fetchall():
                qbo_id = str(qbo_id)  # noqa: PLW2901 - the platform keeps a QBO-mastered record's QBO Id
                changes.append(Change(realms[realm], realm, entity, "upsert", qbo_id, qbo_id, _utc(updated)))
        for entity in ORDER:
            model = _plural(spec[entity]["table"])
            for realm, qbo_id, deleted_at, merged_into in db.execute(
                f"SELECT realm_id, qbo_id, deleted_at, merged_into_qbo_id FROM staging.{model} "
                f"WHERE is_deleted AND realm_id IN ({marks})",
                wanted,
            ).fetchall():
                operation = "merge" if merged_into else "delete"
                platform_id = context[realm]["links"].get((entity, str(qbo_id)))
                changes.append(
                    Change(
                        realms[realm],
                        realm,
                        entity,
                        operation,
                        str(qbo_id),
                        platform_id,
                        _utc(deleted_at),
                        None if merged_into is None else str(merged_into),
                    )
                )
    return changes, context


def deliver(
    connector: Connector, echo: Callable[[str], None] = print, as_of: date | None = None
) -> DeliverResult:
    """Enqueue every connected tenant's new changes; one bad record never stops the others."""
    store = connector.store
    connected = connector.connections() if connector.settings.token_encryption_keys else []
    realms = {record.realm_id: record.tenant_id for record in connected}
    changes, context = read_changes(connector.settings.warehouse_target, realms)
    result = DeliverResult()
    order = {entity: n for n, entity in enumerate([*load_spec().reference, *ORDER])}
    changes.sort(key=lambda c: (c.realm_id, order[c.entity], c.operation in ("delete", "merge"), c.qbo_id))
    stored = store.outbox.stored(c.change_id for c in changes)
    new = [c for c in changes if c.change_id not in stored]
    result.already = len(changes) - len(new)
    # a delete or merge of a record the platform never had (unlinked, never delivered) is not news to it
    unlinked: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in new:
        if c.operation not in ("upsert", "void") and not c.platform_id:
            unlinked[(c.realm_id, c.entity)].add(c.qbo_id)
    known = {key: store.outbox.delivered(*key, ids) for key, ids in unlinked.items()}
    new = [
        c
        for c in new
        if c.operation in ("upsert", "void")
        or c.platform_id
        or str(c.qbo_id) in known[(c.realm_id, c.entity)]
    ]
    docs = _documents(connector, new, result)
    for realm_id in sorted({c.realm_id for c in new}):
        reading = InboundReading(
            context[realm_id]["lookups"],
            as_of or datetime.now(UTC).date(),
            platform_id=context[realm_id]["links"],
            keep_unresolved=True,
        )
        for change in (c for c in new if c.realm_id == realm_id):
            try:
                dto = _dto(change, reading, docs, context[realm_id]["links"])
                if dto is None:
                    continue
                stored = store.outbox.append(
                    change=change.change_id,
                    tenant_id=change.tenant_id,
                    realm_id=change.realm_id,
                    entity=change.entity,
                    operation=change.operation,
                    qbo_id=change.qbo_id,
                    platform_id=change.platform_id,
                    dto=dto,
                )
            except Exception as exc:  # one bad record is recorded and skipped (DESIGN decision 17)
                log.warning(
                    "deliver %s %s %s failed: %s", change.entity, change.qbo_id, change.operation, exc
                )
                store.errors.record(exc, realm_id, change.entity, "deliver")
                result.failed += 1
                continue
            if stored is None:
                result.already += 1
            else:
                result.enqueued[change.operation] = result.enqueued.get(change.operation, 0) + 1
    echo(result.summary())
    return result


def _documents(connector: Connector, changes: list[Change], result: DeliverResult) -> dict[tuple, dict]:
    """(realm, entity, qbo id) -> the QBO document now, for the upserts and voids: one query a chunk."""
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in changes:
        if c.operation in ("upsert", "void"):
            wanted[(c.realm_id, c.entity)].add(c.qbo_id)
    docs: dict[tuple, dict] = {}
    for (realm_id, entity), ids in sorted(wanted.items()):
        try:
            found, _gone = fetch_ids(connector.client(realm_id), ENTITIES[entity], ids)
        except Exception as exc:  # this realm's entity waits for the next delivery; the others go on
            log.warning("deliver: reading %s of realm %s failed: %s", entity, realm_id, exc)
            connector.store.errors.record(exc, realm_id, entity, "deliver")
            result.failed += len(ids)
            continue
        for doc in found:
            docs[(realm_id, entity, str(doc["Id"]))] = doc
    return docs


def _dto(
    change: Change, reading: InboundReading, docs: dict[tuple, dict], links: dict[tuple[str, str], str]
) -> dict[str, Any] | None:
    base = {
        "id": change.platform_id,
        "tenantId": change.tenant_id,
        "realmId": change.realm_id,
        "qboId": change.qbo_id,
    }
    if change.operation == "delete":
        return {**base, "deleted": True, "qboDeletedAt": _iso(change.version)}
    if change.operation == "merge":
        survivor = change.merged_into
        return {
            **base,
            "deleted": True,
            "qboDeletedAt": _iso(change.version),
            "mergedIntoQboId": survivor,
            "mergedIntoId": links.get((change.entity, str(survivor))),
        }
    doc = docs.get((change.realm_id, change.entity, change.qbo_id))
    if doc is None:
        return None  # gone since the warehouse saw it: its delete comes with the next drain
    if change.entity in load_spec().reference:
        return reference_dto(change.entity, doc, tenant_id=change.tenant_id, realm_id=change.realm_id)
    dto = reading.dto(
        change.entity,
        doc,
        tenant_id=change.tenant_id,
        realm_id=change.realm_id,
        platform_id=change.platform_id,
    )
    if dto is None:
        raise ValueError(f"{change.entity} {change.qbo_id} could not be read as a platform record")
    return dto


def _utc(value: Any) -> Any:
    """A version as UTC: a change is named by it, and a PostgreSQL session's time zone (or DuckDB's) must
    not rename one change, nor show its time in another zone."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (None if value is None else str(value))
