"""Pre-flight (seed §7.2): what QBO would refuse, found before anything is sent.

Two layers, both made from the mapping spec. Per record, the pydantic model of the QBO payload
(payloads.preflight): required fields, lengths. Across the whole outbound frame, pandera: required
references present, lines present, DocNumber unique per realm (in this push and against QBO), names
within QBO's lengths, enums QBO knows (a field's spec `enum`: the QBO values its platform values map
to, such as Item.Type Service, Inventory, NonInventory). A record that fails is `invalid`, with the
seed's error DTO (`QBO_VALIDATION_FAILED`, one detail per field); the others go through.

And one QBO record has one platform twin: a record whose `qboId` is already linked to another platform
record of the realm and entity is a `CONFLICT` (409, naming `qboId` and the other platform id), never an
update of that QBO record (`qbo_id_conflict`; the real-time push asks the published references). The
batch push refuses every operation of a push that writes one QBO record for two platform records, and,
given `claimed_twice`, those whose QBO record the warehouse's mappings link to another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
import pandera.pandas as pa

from pipelines.mapping.payloads import listed, platform_field, pushable
from pipelines.mapping.payloads import preflight as record_preflight
from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import LINES_FIELD
from sources.platform.errors import detail, error_dto

if TYPE_CHECKING:
    from pipelines.push.operation import Operation
    from pipelines.runtime.warehouse_sql import WarehouseSQL

DOC_NUMBER = "doc_number"
Claimant = tuple[str, str]  # (tenant, platform id)


def doc_numbers_in_qbo(db: WarehouseSQL) -> set[tuple[str, str, str]]:
    """(entity, realm, DocNumber) of live QBO records: a create must not take one that is in use."""
    found: set[tuple[str, str, str]] = set()
    for entity, table in (("Invoice", "invoices"), ("Bill", "bills")):
        rows = db.execute(
            f"SELECT realm_id, doc_number FROM staging.stg_qbo__{table} "
            "WHERE NOT is_deleted AND doc_number IS NOT NULL"
        ).fetchall()
        found |= {(entity, realm, number) for realm, number in rows}
    return found


def frame_schema(entity: str) -> pa.DataFrameSchema:
    """The pandera schema of an entity's outbound frame, from the spec's limits and enums."""
    columns: dict[str, pa.Column] = {
        "realm_id": pa.Column(str),
        "operation": pa.Column(str, pa.Check.isin(["create", "update", "deactivate", "void"])),
        "unresolved": pa.Column(
            bool, pa.Check.eq(False, error="references a record that is not in QBO"), nullable=False
        ),
    }
    for f in pushable(entity):
        for column in f["qbo_columns"]:
            checks = []
            if f["max_length"] and f["sql_type"] == "varchar":
                checks.append(pa.Check.str_length(max_value=f["max_length"]))
            if f["enum"]:
                checks.append(pa.Check.isin(sorted(set(f["enum"].values()))))
            columns[column] = pa.Column(None, checks, nullable=True, required=False)
    checks = []
    if rendered()[entity]["lines"] is not None:
        columns["line_count"] = pa.Column(int)
        checks.append(
            pa.Check(
                lambda df: ~((df["operation"] == "create") & (df["line_count"] == 0)),
                error="a create needs at least one line",
                name="lines_present",
            )
        )
    if any(f["name"] == DOC_NUMBER for f in pushable(entity)):
        columns["doc_number_in_qbo"] = pa.Column(bool)
        checks.append(
            pa.Check(
                lambda df: (
                    ~(
                        df["doc_number_in_qbo"]
                        | (df["doc_number"].notna() & df.duplicated(["realm_id", "doc_number"], keep=False))
                    )
                ),
                error="DocNumber is not unique in the realm",
                name="doc_number_unique",
            )
        )
    return pa.DataFrameSchema(columns, checks=checks, strict=False)


def claimed_twice(db: WarehouseSQL) -> dict[tuple[str, str, str], list[Claimant]]:
    """(realm, entity, QBO Id) -> the platform records the warehouse's mappings link to it, where more
    than one is: the platform sent one qboId on two records. Grouped here, not in SQL: DuckDB's lists
    and PostgreSQL's arrays of pairs are spelled differently, and the claimants are few."""
    rows = db.execute(
        "SELECT DISTINCT realm_id, entity, qbo_id, tenant_id, platform_id FROM sync.sync_mappings "
        "WHERE qbo_id IS NOT NULL AND platform_id IS NOT NULL AND status LIKE 'linked%'"
    ).fetchall()
    claims: dict[tuple[str, str, str], set[Claimant]] = {}
    for realm, entity, qbo_id, tenant, platform_id in rows:
        claims.setdefault((realm, entity, str(qbo_id)), set()).add((tenant, platform_id))
    return {where: sorted(claimants) for where, claimants in claims.items() if len(claimants) > 1}


def qbo_id_conflict(
    entity: str, tenant: str, platform_id: str, qbo_id: str, claims: list[Claimant]
) -> dict[str, Any] | None:
    """The CONFLICT error DTO when QBO record `qbo_id` is linked to a platform record other than this
    one; None when it is linked to this one or to none. Another tenant's record is not named."""
    others = [claim for claim in claims if claim != (tenant, platform_id)]
    if not others:
        return None
    same_tenant = sorted(other for t, other in others if t == tenant)
    if same_tenant:
        whom = f"{entity} {same_tenant[0]}"
        if len(same_tenant) > 1:
            whom += f" (and {', '.join(same_tenant[1:])})"
    else:
        whom = f"a {entity} of another tenant"
    message = (
        f"qboId {qbo_id} is already linked to {whom}: one QBO record has one platform record, so "
        f"{entity} {platform_id} does not update it; correct qboId (or leave it out to create a new "
        "record), or unlink the other record first"
    )
    extensions = {"linkedPlatformId": same_tenant[0]} if same_tenant else {}
    return error_dto("CONFLICT", message, [detail("qboId", "conflict", message, **extensions)])


def _claim_conflicts(
    operations: list[Operation], shared: Mapping[tuple[str, str, str], list[Claimant]]
) -> None:
    """Mark `invalid` every operation that writes a QBO record another platform record claims too, in
    this push or in the warehouse's mappings (`shared`, from `claimed_twice`)."""
    live = [
        op for op in operations if op.row.get("qbo_id") is not None and op.status not in ("done", "refused")
    ]
    claims: dict[tuple[str, str, str], set[Claimant]] = {}
    for op in live:
        claims.setdefault((op.realm_id, op.entity, str(op.row["qbo_id"])), set()).add(op.key[1:])
    for op in live:
        where = (op.realm_id, op.entity, str(op.row["qbo_id"]))
        claimants = sorted(claims[where] | set(shared.get(where, ())))
        error = qbo_id_conflict(op.entity, op.key[1], op.key[2], where[2], claimants)
        if error is not None:
            op.status, op.error = "invalid", error


def check(
    operations: list[Operation],
    existing_doc_numbers: set[tuple[str, str, str]],
    shared_links: Mapping[tuple[str, str, str], list[Claimant]] | None = None,
) -> None:
    """Mark the operations QBO would refuse `invalid`, each with its error DTO; and those writing a QBO
    record another platform record claims (in this push, or in `shared_links` from `claimed_twice`)."""
    _claim_conflicts(operations, shared_links or {})
    by_entity: dict[str, list[Operation]] = {}
    for op in operations:
        if op.status == "send":
            by_entity.setdefault(op.entity, []).append(op)
    for entity, ops in by_entity.items():
        problems: dict[int, list[dict[str, Any]]] = {}
        for n, op in enumerate(ops):
            filled = {column for _, _, column, _ in op.needs}
            refused = (
                record_preflight(entity, op.row, filled) if op.operation in ("create", "update") else None
            )
            if refused:
                problems.setdefault(n, []).extend(refused["details"])
        frame = _frame(entity, ops, existing_doc_numbers)
        try:
            frame_schema(entity).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            for case in exc.failure_cases.itertuples():
                index = case.index if isinstance(case.index, int) else None
                if index is None:
                    continue
                field = platform_field(entity, str(case.column)) if case.column else None
                problems.setdefault(index, []).append(
                    detail(field, _issue(str(case.check)), f"{case.check}: {case.failure_case}")
                )
        for n, details in problems.items():
            op = ops[n]
            op.status = "invalid"
            op.error = error_dto(
                "QBO_VALIDATION_FAILED",
                f"{entity} {op.row['platform_id']} would be refused by QBO: fix it there",
                _unique(details),
            )


def _frame(entity: str, ops: list[Operation], existing: set[tuple[str, str, str]]) -> pd.DataFrame:
    rows = []
    for op in ops:
        fields = listed(op.row.get("payload_fields"))
        row = dict(op.row)
        row["unresolved"] = bool(op.row.get("missing_references")) and not op.needs
        row["line_count"] = len(op.lines) if LINES_FIELD in fields or op.operation == "create" else 1
        number = op.row.get(DOC_NUMBER)
        row["doc_number_in_qbo"] = (
            op.operation == "create" and number is not None and (entity, op.realm_id, number) in existing
        )
        if DOC_NUMBER not in fields and op.operation != "create":
            row[DOC_NUMBER] = None  # not being written: nothing to clash
        rows.append(row)
    return pd.DataFrame(rows)


def _issue(check: str) -> str:
    """pandera's check names as the error DTO's issues."""
    for prefix, issue in (("str_length", "too_long"), ("not_nullable", "required"), ("isin", "not_allowed")):
        if check.startswith(prefix):
            return issue
    return check if check.isidentifier() else "invalid"


def _unique(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for d in details:
        key = (d["field"], d["issue"])
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
