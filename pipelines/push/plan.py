"""What `qbo push` will do: the outbound models read, checked and sorted into what goes now and what waits.

Per outbound row: `send` (a payload QBO should take), `approval` (a void or deactivation nobody has
approved yet), `invalid` (pre-flight refused it: error DTO), `waiting` (it references a record that
is not in QBO and is not being created in this push), `done` (already pushed with this very payload;
the warehouse has not been re-synced since) or `refused` (QBO refused this very payload before: it is
not sent again until the record changes). Nothing here talks to QBO; `--dry-run` prints this.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.mapping.order import ORDER
from pipelines.mapping.payloads import platform_field, pushable
from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import LINES_FIELD
from pipelines.push import preflight
from pipelines.push.operation import Operation
from pipelines.runtime.warehouse_sql import WarehouseSQL, open_warehouse
from pipelines.runtime.warehouse_target import Warehouse, is_postgres, warehouse_label
from sources.platform.errors import detail, error_dto

OPERATIONS = ("create", "update", "deactivate", "void")
PAST = {"create": "created", "update": "updated", "deactivate": "deactivated", "void": "voided"}
# what is not sent, in the words the plan (--dry-run) and the push's result both use
HELD = {
    "approval": "awaiting approval",
    "waiting": "waiting for a reference",
    "refused": "refused before (unchanged)",
    "done": "already pushed",
}
# outcomes only QBO's answers make: the result says them, the plan cannot foresee them
ANSWERED = {
    "conflict": "in conflict (QBO kept its values)",
    "desynced": "gone from QBO",
    "unsent": "not sent",
}
LOOK = (
    "every refused record and its error: `qbo push --refused`; after `qbo transform`, "
    "`qbo review list --queue issue` (and the review console of `qbo serve`)"
)
SHOWN = 10  # refused records listed per realm; `qbo push --refused` lists them all


def tally(counts: Counter[str], *, past: bool = False, by_qbo: int = 0) -> str:
    """`create 3, update 2, refuse 1; not sent: 2 awaiting approval`, or (past) `created 3, updated 2,
    refused 1`: the plan and the result in the same words, so their counts can be compared."""
    acts = [f"{PAST[op] if past else op} {counts[op]}" for op in OPERATIONS if counts.get(op)]
    refused = counts.get("refuse", 0)
    if refused:
        split = (
            f" ({refused - by_qbo} by pre-flight, {by_qbo} by QBO)" if past and 0 < by_qbo < refused else ""
        )
        acts.append(f"{'refused' if past else 'refuse'} {refused}{split}")
    acts += [f"{counts[k]} {word}" for k, word in ANSWERED.items() if counts.get(k)]
    held = [f"{counts[k]} {word}" for k, word in HELD.items() if counts.get(k)]
    said = ", ".join(acts) or ("nothing pushed" if past else "nothing to send")
    return f"{said}; not sent: {', '.join(held)}" if held else said


def refusal_lines(
    entity: str, platform_id: str, qbo_id: Any, operation: str, why: str, dto: dict[str, Any] | None
) -> list[str]:
    """One refused record: its ids, what was refused and by whom, and its error DTO (code, message and a
    line per detail: the field in the platform's terms and the issue)."""
    dto = dto or {}
    qbo = f", QBO Id {qbo_id}" if qbo_id else ""
    lines = [
        f"  {entity} {platform_id} ({operation}{qbo}, {why}): "
        f"{dto.get('code', 'UNKNOWN')}: {dto.get('message', 'no error recorded')}"
    ]
    for d in dto.get("details") or []:
        message = f": {d['message']}" if d.get("message") else ""
        lines.append(f"      {d.get('field', '(record)')} {d.get('issue', 'invalid')}{message}"[:200])
    return lines


# a plan status -> how a refused or held record's reason is said in a listing
WHY = {"invalid": "refused by pre-flight", "refused": "refused before, unchanged since", "waiting": "waiting"}


@dataclass
class Plan:
    operations: list[Operation]

    def by_status(self, status: str) -> list[Operation]:
        return [op for op in self.operations if op.status == status]

    def realms(self) -> list[str]:
        return sorted({op.realm_id for op in self.operations})

    def counts(self, realm: str, entity: str | None = None) -> Counter[str]:
        """What the plan does with a realm's (or an entity's) records: an operation for what is sent,
        `refuse` for what pre-flight refuses, a status of HELD for what waits."""
        out: Counter[str] = Counter()
        for op in self.operations:
            if op.realm_id == realm and entity in (None, op.entity):
                out[
                    op.operation if op.status == "send" else "refuse" if op.status == "invalid" else op.status
                ] += 1
        return out

    def summary(self, lead: str = "would ") -> list[str]:
        """Per realm its tally (`lead` before it: `would ` for a dry run), then per entity."""
        lines = []
        for realm in self.realms():
            said = tally(self.counts(realm))
            lines.append(f"realm {realm}: {'' if said.startswith('nothing') else lead}{said}")
            for entity in ORDER:
                counts = self.counts(realm, entity)
                if counts:
                    lines.append(f"  {entity:<9} {tally(counts)}")
            if self.counts(realm).get("approval"):
                lines.append("  awaiting approval: `qbo approve` lists them and approves one")
        return lines or ["nothing to push"]

    def not_sent(
        self,
        realm: str,
        statuses: tuple[str, ...] = ("invalid", "refused", "waiting"),
        limit: int | None = SHOWN,
    ) -> list[str]:
        """The realm's records refused or waiting, each with its ids and error DTO (`limit` of them)."""
        ops = [
            op
            for status in statuses
            for op in self.operations
            if op.realm_id == realm and op.status == status
        ]
        lines = []
        for op in ops[:limit]:
            lines += refusal_lines(
                op.entity, op.row["platform_id"], op.row.get("qbo_id"), op.operation, WHY[op.status], op.error
            )
        if limit is not None and len(ops) > limit:
            lines.append(f"  ... and {len(ops) - limit} more: `qbo push --refused` lists them all")
        return lines


def _references(entity: str) -> list[tuple[str, str, str]]:
    """(QBO column, platform-id column, referenced entity) of an entity's links, header and lines."""
    spec = rendered()[entity]
    found = [
        (f["qbo_columns"][0], f"{f['name']}__platform_id", f["link"]) for f in pushable(entity) if f["link"]
    ]
    if spec["lines"] is not None:
        key = spec["lines"]["key"]
        if key["link"]:
            found.append((key["qbo_column"], "line_key__platform_id", key["link"]))
        found += [
            (f["qbo_columns"][0], f"{f['name']}__platform_id", f["link"])
            for f in spec["lines"]["fields"]
            if f["link"]
        ]
    return found


CHUNK = 1000  # platform ids per query


def _marks(values: list[Any]) -> str:
    """`?, ?, ?` for an IN list: the one spelling of a list parameter both engines take."""
    return ", ".join("?" for _ in values)


def read_plan(
    warehouse: Warehouse,
    *,
    realms: list[str] | None = None,
    entities: list[str] | None = None,
    approved: set[tuple[str, str, str, str]] = frozenset(),  # type: ignore[assignment]
    pushed: dict[tuple[str, str, str, str], str] | None = None,
    known_links: dict[tuple[str, str, str], str] | None = None,
) -> Plan:
    """The plan from the outbound models of `warehouse` (a DuckDB file or a PostgreSQL URL); `approved`
    holds (entity, tenant, platform id, operation), `pushed` what QBO last said of (entity, tenant,
    platform id, payload hash), `known_links` the records earlier pushes created that the warehouse
    does not know yet."""
    wanted = [e for e in ORDER if not entities or e in entities]
    operations: list[Operation] = []
    if not is_postgres(warehouse) and not Path(warehouse).exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}")
    with open_warehouse(warehouse) as db:
        if db.optional("SELECT 1 FROM sync.outbound_customers LIMIT 0") is None:
            raise FileNotFoundError(f"the warehouse {warehouse_label(warehouse)} has no outbound models")
        for entity in wanted:
            spec = rendered()[entity]
            table = f"outbound_{spec['table']}s"
            where = f" WHERE realm_id IN ({_marks(realms)})" if realms else ""
            # sorted here, not by ORDER BY: PostgreSQL's collation would order ids unlike DuckDB's
            rows = sorted(
                db.dicts(f"SELECT * FROM sync.{table}{where}", realms or None),
                key=lambda r: (r["realm_id"], r["platform_id"]),
            )
            lines: dict[tuple[str, str], list[dict[str, Any]]] = {}
            if spec["lines"] is not None:
                for line in db.dicts(f"SELECT * FROM sync.outbound_{spec['table']}_lines"):
                    lines.setdefault((line["tenant_id"], line["platform_id"]), []).append(line)
            synced = _synced_values(db, entity, rows)
            for row in rows:
                op = Operation(entity, row, lines.get((row["tenant_id"], row["platform_id"]), []))
                op.synced = synced.get((row["tenant_id"], row["platform_id"]), {})
                operations.append(op)
        existing_doc_numbers = preflight.doc_numbers_in_qbo(db)
        shared_links = preflight.claimed_twice(db)
    creating = {op.key for op in operations if op.operation == "create"} | set(known_links or {})
    for op in operations:
        said = (pushed or {}).get((*op.key, op.row["payload_hash"]))
        if said == "ok":
            op.status = "done"
        elif said in ("invalid", "conflict"):
            op.status = "refused"  # QBO refused this very payload: sent again once the record changes
        elif op.row["needs_approval"] and (*op.key, op.operation) not in approved:
            op.status = "approval"
        else:
            _resolve(op, creating)
    preflight.check(operations, existing_doc_numbers, shared_links)
    return Plan(operations)


def _resolve(op: Operation, creating: set[tuple[str, str, str]]) -> None:
    """References not in QBO yet: fine when this push creates them first, else the record waits."""
    tenant = op.row["tenant_id"]
    for column, platform_column, target in _references(op.entity):
        for source in [op.row, *op.lines]:
            platform_id = source.get(platform_column)
            if source.get(column) is None and platform_id is not None:
                if (target, tenant, platform_id) in creating and ORDER.index(target) < ORDER.index(op.entity):
                    op.needs.append((target, platform_id, column, platform_column))
                else:
                    op.status = "waiting"
                    message = (
                        f"{op.entity} {op.row['platform_id']} references {target} {platform_id}, "
                        "which is not in QBO yet: link or push it first"
                    )
                    field = platform_field(op.entity, column)
                    op.error = error_dto(
                        "REFERENCE_NOT_IN_QBO", message, [detail(field, "not_in_qbo", message)]
                    )


def _synced_values(
    db: WarehouseSQL, entity: str, rows: list[dict[str, Any]]
) -> dict[tuple[str, str], dict[str, str | None]]:
    """For updates: the platform-mastered fields as QBO had them at the last sync, normalised (dbt's n__);
    what a stale-object fault is compared with."""
    spec = rendered()[entity]
    updates = sorted({r["platform_id"] for r in rows if r["operation"] == "update"})
    if not updates:
        return {}
    fields = [f["name"] for f in spec["fields"]] + ([LINES_FIELD] if spec["lines"] else [])
    columns = ", ".join(f"cast(q.n__{name} as varchar) as {name}" for name in fields)
    found: list[dict[str, Any]] = []
    for start in range(0, len(updates), CHUNK):  # an IN list of bounded length: PostgreSQL counts params
        chunk = updates[start : start + CHUNK]
        found += db.dicts(
            f"SELECT m.tenant_id, m.platform_id, p.master_fields, {columns} "
            f"FROM sync.sync_mappings m JOIN intermediate.int_sync__{spec['table']}_qbo q "
            "ON q.realm_id = m.realm_id AND q.qbo_id = m.qbo_id "
            "JOIN (SELECT tenant_id, string_agg(field, ',') AS master_fields FROM sync.sync_mastering_policy "
            "WHERE entity = ? AND master = 'platform' AND field <> '*' GROUP BY tenant_id) p "
            "ON p.tenant_id = m.tenant_id "
            f"WHERE m.entity = ? AND m.status = 'linked' AND m.platform_id IN ({_marks(chunk)})",
            [entity, entity, *chunk],
        )
    out = {}
    for row in found:
        mastered = set(row.pop("master_fields").split(","))
        key = (row.pop("tenant_id"), row.pop("platform_id"))
        out[key] = {name: value for name, value in row.items() if name in mastered}
    return out
