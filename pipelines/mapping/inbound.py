"""A QBO document as the platform's record of it: field by field through the rendered mapping spec.

The inbound reading of the spec (the spec's §10.2 "mapping layer converts to platform DTO"): each mapped
field's QBO value in the platform's terms (`values.qbo_value`), links turned into platform ids, the line
array rebuilt, and the totals the platform keeps. Two callers: the deliver job, which puts what QBO
changed into the outbox for the platform, and the demo generator, which mirrors a sandbox company into
platform records (a mirrored record compares equal to its QBO twin).

A link to a QBO record the platform does not know (no platform id yet) cannot be had: `record` answers
None, unless the reading keeps unresolved links, in which case the field is null and the QBO Id is
named under `qboRefs` (a camelCase extension) so the platform can resolve it once it has the record.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic_core import to_jsonable_python

from pipelines.mapping.rendering import rendered
from pipelines.mapping.spec import load_spec
from pipelines.mapping.values import get_path, is_voided, money, qbo_value
from sources.platform.dto import QBO_MASTERED

LINE_ARRAY = {e: s["lines"]["platform_path"] for e, s in rendered().items() if s["lines"]}  # lines
LINE_KEY = {e: s["lines"]["key"]["platform_path"] for e, s in rendered().items() if s["lines"]}


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = record
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


class Unresolved(Exception):
    """A link to a QBO record the platform has no id for."""


class InboundReading:
    """QBO documents of one realm as platform records (wire names, Decimal amounts)."""

    def __init__(
        self,
        lookups: dict[str, dict[str, str]],
        as_of: date,
        platform_id: dict[tuple[str, str], str] | None = None,
        keep_unresolved: bool = False,
    ) -> None:
        self.spec = rendered()
        self.as_of = as_of
        self.lookups = lookups  # list table (term, payment_method) -> QBO Id -> name
        self.platform_id = {} if platform_id is None else platform_id  # (entity, qbo id) -> platform id
        self.keep_unresolved = keep_unresolved

    def lookup(self, table: str, qbo_id: str) -> str | None:
        return self.lookups.get(table, {}).get(qbo_id)

    def value(self, f: dict[str, Any], doc: dict[str, Any]) -> tuple[Any, bool]:
        """The platform's value of a field, and whether it could be had (links may point nowhere)."""
        value = qbo_value(f, doc, self.lookup, self.as_of)
        if f["link"] and value is not None:
            linked = self.platform_id.get((f["link"], str(value)))
            return linked, linked is not None
        if f["rule"] == "bool":
            value = bool(value)
        elif f["rule"] == "money" and value is not None:
            value = money(value)
        elif f["rule"] == "number" and value is not None:
            value = Decimal(str(value))
        elif f["rule"] == "name" and isinstance(value, str):
            value = value.removesuffix(" (deleted)")
        return value, True

    def fields(self, fields: list[dict[str, Any]], doc: dict[str, Any], out: dict[str, Any]) -> None:
        for f in fields:
            if f["platform_computed"]:
                continue  # the DTO derives it (an invoice is voided by its status)
            value, ok = self.value(f, doc)
            if not ok:
                if not self.keep_unresolved:
                    raise Unresolved(f["name"])
                set_path(out, f["platform_path"], None)
                out.setdefault("qboRefs", {})[f["platform_path"]] = str(
                    qbo_value(f, doc, self.lookup, self.as_of)
                )
            elif value is not None:
                set_path(out, f["platform_path"], value)

    def record(self, entity: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        """The platform record (wire names), or None when a reference it needs is not on the platform."""
        spec = self.spec[entity]
        record: dict[str, Any] = {}
        try:
            self.fields(spec["fields"], doc, record)
            if spec["lines"] is not None:
                record[LINE_ARRAY[entity]] = self.lines(entity, spec["lines"], doc)
        except Unresolved:
            return None
        return _complete(entity, record, doc)

    def lines(self, entity: str, lines: dict[str, Any], doc: dict[str, Any]) -> list[dict]:
        out = []
        key = lines["key"]
        for line in doc.get("Line", []):
            if any(get_path(line, path) not in values for path, values in lines["qbo_where_paths"].items()):
                continue
            item: dict[str, Any] = {}
            key_value = get_path(line, key["qbo_path"])
            if key["link"]:
                linked = self.platform_id.get((key["link"], str(key_value)))
                if linked is None:
                    if not self.keep_unresolved:
                        raise Unresolved(LINE_KEY[entity])
                    item.setdefault("qboRefs", {})[LINE_KEY[entity]] = str(key_value)
                key_value = linked
            item[LINE_KEY[entity]] = key_value
            if entity != "Payment" and line.get("Id") is not None:
                item["id"] = str(line["Id"])  # the platform's line id of a line QBO made
            self.fields(lines["fields"], line, item)
            out.append(item)
        if entity == "Invoice" and is_voided(doc):  # QBO drops quantities and prices of a voided invoice
            for item in out:
                item.update(quantity=Decimal(1), unitPrice=Decimal(0), amount=Decimal(0))
        return out

    def dto(
        self,
        entity: str,
        doc: dict[str, Any],
        *,
        tenant_id: str,
        realm_id: str,
        platform_id: str | None,
    ) -> dict[str, Any] | None:
        """The platform DTO as JSON (camelCase, amounts as text like the DTO models' dump), with the
        QBO Id, SyncToken and last update; `id` is null for a record QBO has and the platform does not."""
        record = self.record(entity, doc)
        if record is None:
            return None
        meta = doc.get("MetaData") or {}
        record = {
            "id": platform_id,
            "tenantId": tenant_id,
            "realmId": realm_id,
            "qboId": str(doc.get("Id")),
            "qboSyncToken": None if doc.get("SyncToken") is None else str(doc["SyncToken"]),
            "qboLastUpdatedAt": meta.get("LastUpdatedTime"),
            "createdAt": meta.get("CreateTime"),
            "updatedAt": meta.get("LastUpdatedTime"),
            **record,
        }
        return to_jsonable_python(record)


def reference_dto(entity: str, doc: dict[str, Any], *, tenant_id: str, realm_id: str) -> dict[str, Any]:
    """A QBO-mastered record (Account, Employee) as the platform's read-only DTO, through the spec's
    `reference` section; its `id` is its QBO Id."""
    fields = {path: get_path(doc, qbo) for path, qbo in load_spec().reference[entity].items()}
    record = QBO_MASTERED[entity].model_validate(
        {
            "id": str(doc["Id"]),
            "qboId": str(doc["Id"]),
            "tenantId": tenant_id,
            "realmId": realm_id,
            "updatedAt": (doc.get("MetaData") or {}).get("LastUpdatedTime"),
            **{path: value for path, value in fields.items() if value is not None},
        }
    )
    return record.model_dump(mode="json")


def _complete(entity: str, record: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The DTO fields the spec does not compare: totals the platform keeps itself."""
    if entity == "Invoice":
        record["totalAmount"] = money(doc.get("TotalAmt"))
        record["version"] = int(doc.get("SyncToken") or 0)  # QBO's version of a record read from QBO
        for line in record.get("lines", []):
            line.setdefault("description", "")  # the spec requires one; QBO's line may have none
    elif entity == "Bill":
        record["totalAmount"] = sum((line["amount"] for line in record.get("lines", [])), Decimal(0))
    return record
