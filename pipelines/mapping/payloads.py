"""Outbound rows (dbt's outbound_<entity> models) as QBO payloads, built and checked from the mapping spec.

The outbound models name their columns after QBO paths (`bill_addr__city`); the rendered spec says
which path each column is, so a payload is the spec walked backwards: `{"BillAddr": {"City": ...}}`.
Before anything is sent, a pydantic model made from the spec checks each record the way QBO would
(required fields, lengths); a record that fails becomes the seed's error DTO, code
`QBO_VALIDATION_FAILED`, naming the QBO field, and is not sent.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from pipelines.mapping.rendering import DISCOUNT, rendered
from pipelines.mapping.spec import LINES_FIELD
from sources.platform.errors import detail, error_dto, issue_of

# QBO arrays along a path: `LinkedTxn.TxnId` is `{"LinkedTxn": [{"TxnId": ...}]}`
ARRAYS = frozenset({"LinkedTxn", "Line"})


def pushable(entity: str) -> list[dict[str, Any]]:
    """The spec's fields a push may write (rendered `pushable`, as macros/outbound.sql reads it too)."""
    return [f for f in rendered()[entity]["fields"] if f["pushable"]]


def platform_field(entity: str, qbo: str) -> str:
    """The platform's name (`paymentTermsId`, `lines[].unitPrice`, `appliedInvoices`) of a QBO column,
    path or fault element (`sales_term_ref__value`, `SalesTermRef.value`, `SalesTermRef`, `Line.Amount`):
    what an error DTO says, so the platform can find the field it sent. Unknown names stay as given."""
    spec = rendered()[entity]
    found = _field_named(spec["fields"], qbo, by_name=True)
    if found is not None:
        return found
    lines = spec["lines"]
    if lines is not None:
        rest, key = qbo.removeprefix(f"{lines['qbo_path']}."), lines["key"]["qbo_path"]
        if qbo in (lines["key"]["qbo_column"], lines["qbo_path"]) or f"{key}.".startswith(f"{rest}."):
            return lines["platform_path"]
        found = _field_named(lines["fields"], rest)
        if found is not None:
            return f"{lines['platform_path']}[].{found}"
    return qbo


def _field_named(fields: list[dict[str, Any]], qbo: str, by_name: bool = False) -> str | None:
    for f in fields:
        if qbo in f["qbo_columns"] or qbo in f["qbo_paths"] or (by_name and qbo == f["name"]):
            return f["platform_path"]
    for f in fields:  # an element above the path (SalesTermRef of SalesTermRef.value, BillAddr)
        if any(path.startswith(f"{qbo}.") for path in f["qbo_paths"]):
            return f["platform_path"].rsplit(".", 1)[0]  # billingAddress of billingAddress.line1
    for (
        f
    ) in fields:  # an element QBO names without its parents (ItemRef of SalesItemLineDetail.ItemRef.value)
        if any(f".{qbo}." in f".{path}." for path in f["qbo_paths"]):
            return f["platform_path"]
    return None


def set_path(node: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, [{}])[0] if part in ARRAYS else node.setdefault(part, {})
    node[leaf] = value


def wire(value: Any) -> Any:
    """A warehouse value as QBO JSON takes it."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def listed(payload_fields: str | None) -> set[str]:
    return {f.strip() for f in (payload_fields or "").split(",") if f.strip()}


def header(entity: str, row: dict[str, Any]) -> dict[str, Any]:
    """The record's fields named in `payload_fields`, nested by their QBO paths."""
    fields = listed(row.get("payload_fields"))
    body: dict[str, Any] = {}
    for f in pushable(entity):
        if f["name"] not in fields:
            continue
        if f["qbo_derived"] == DISCOUNT:
            continue  # a line, added with the lines
        for path, column in zip(f["qbo_paths"], f["qbo_columns"], strict=True):
            set_path(body, path, wire(row.get(column)))
    return body


def line_items(entity: str, rows: list[dict[str, Any]], discount: Any = None) -> list[dict[str, Any]]:
    """The line array of one record (its outbound_<entity>_lines rows), in key order."""
    lines = rendered()[entity]["lines"]
    key = lines["key"]
    out = []
    for row in sorted(rows, key=lambda r: _sortable(r.get(key["qbo_column"]))):
        line: dict[str, Any] = {}
        key_value = row.get(key["qbo_column"])
        if key["qbo_path"] == "LineNum" and str(key_value).isdigit():
            key_value = int(key_value)
        set_path(line, key["qbo_path"], wire(key_value))
        for f in lines["fields"]:
            value = row.get(f["qbo_columns"][0])
            if value is not None:
                set_path(line, f["qbo_paths"][0], wire(value))
        for (path, types), column in zip(lines["qbo_where_paths"].items(), lines["qbo_where"], strict=True):
            set_path(line, path, row.get(column) or types[0])  # the outbound row's pick (DetailType)
        out.append(line)
    if discount:  # QBO takes a discount as its own line, after the items
        out.append(
            {
                "Amount": wire(discount),
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": {"PercentBased": False},
            }
        )
    return out


def _sortable(value: Any) -> tuple[int, Any]:
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text)


def payload(entity: str, row: dict[str, Any], lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The QBO body of one outbound row: a create, a sparse update, a deactivation or a void."""
    operation = row["operation"]
    if operation in ("update", "deactivate", "void"):
        body: dict[str, Any] = {"Id": row["qbo_id"], "SyncToken": row["sync_token"], "sparse": True}
    else:
        body = {}
    if operation == "deactivate":
        body["Active"] = False
        return body
    if operation == "void":
        return body
    body.update(header(entity, row))
    if rendered()[entity]["lines"] is not None and LINES_FIELD in listed(row.get("payload_fields")):
        # the whole Line array is replaced, even in a sparse update: the discount line goes with it
        body["Line"] = line_items(entity, lines or [], row.get("discount_amount"))
    return prune(body, keep_nulls=operation == "update")


def prune(node: Any, keep_nulls: bool) -> Any:
    """Without what QBO should not see: nulls in a create (QBO fills its defaults), and in any payload
    a reference with no value (`{"value": null}` is refused; a reference is not cleared that way)."""
    if isinstance(node, list):
        return [prune(item, keep_nulls) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, raw in node.items():
        value = prune(raw, keep_nulls)
        if isinstance(value, dict) and (not value or ("value" in value and value["value"] is None)):
            continue
        if value is None and not keep_nulls:
            continue
        out[key] = value
    return out


# -- pre-flight: what QBO would refuse ------------------------------------------------------------
class _Flat(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


@cache
def flat_model(entity: str, create: bool) -> type[BaseModel]:
    """A pydantic model of the outbound row's QBO columns, with QBO's limits, made from the spec."""
    definitions: dict[str, Any] = {}
    for f in pushable(entity):
        text = f["sql_type"] == "varchar"
        limits = {"max_length": f["max_length"]} if text and f["max_length"] else {}
        for path, column in zip(f["qbo_paths"], f["qbo_columns"], strict=True):
            if create and f["required"]:
                definitions[column] = (str if text else Any, Field(..., title=path, **limits))
            else:
                definitions[column] = (str | None if text else Any, Field(None, title=path, **limits))
    return create_model(f"Qbo{entity}{'Create' if create else 'Update'}", __base__=_Flat, **definitions)


def preflight(entity: str, row: dict[str, Any], filled: set[str] = frozenset()) -> dict[str, Any] | None:  # type: ignore[assignment]
    """None when QBO should take the record; else the error DTO, one detail per QBO field refused.
    `filled` are reference columns this push fills before sending (records it creates first)."""
    fields = listed(row.get("payload_fields"))
    columns = {c for f in pushable(entity) if f["name"] in fields for c in f["qbo_columns"]}
    values = {k: v for k, v in row.items() if k in columns and v is not None}
    values |= {column: "(created in this push)" for column in filled if column in columns}
    model = flat_model(entity, row["operation"] == "create")
    try:
        model.model_validate(values)
    except ValidationError as exc:
        details = [
            detail(platform_field(entity, str(e["loc"][0])), issue_of(e["type"]), e["msg"])
            for e in exc.errors(include_url=False)
        ]
        return error_dto(
            "QBO_VALIDATION_FAILED",
            f"{entity} {row['platform_id']} would be refused by QBO: fix it in the platform",
            details,
        )
    return None
