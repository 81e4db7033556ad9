"""Pre-flight (seed §7.2): what QBO would refuse, found before anything is sent.

Two layers, both made from the mapping spec. Per record, the pydantic model of the QBO payload
(payloads.preflight): required fields, lengths. Across the whole outbound frame, pandera: required
references present, lines present, DocNumber unique per realm (in this push and against QBO), names
within QBO's lengths, enums QBO knows (a field's spec `enum`: the QBO values its platform values map
to, such as Item.Type Service, Inventory, NonInventory). A record that fails is `invalid`, with the
seed's error DTO (`QBO_VALIDATION_FAILED`, one detail per field); the others go through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pandera.pandas as pa

from pipelines.mapping.payloads import listed, platform_field, pushable
from pipelines.mapping.payloads import preflight as record_preflight
from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import LINES_FIELD
from sources.platform.errors import detail, error_dto

if TYPE_CHECKING:
    from pipelines.push.operation import Operation

DOC_NUMBER = "doc_number"


def doc_numbers_in_qbo(db: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str]]:
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


def check(operations: list[Operation], existing_doc_numbers: set[tuple[str, str, str]]) -> None:
    """Mark the operations QBO would refuse `invalid`, each with its error DTO."""
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
