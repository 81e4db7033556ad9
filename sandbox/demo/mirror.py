"""A QBO document as the platform's record of it: field by field through the rendered mapping spec.

The demo starts from a platform that mirrors the sandbox company exactly (a mirrored record
compares equal), so every difference the tests find is one that was planted on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from pipelines.mapping.rendering import rendered
from pipelines.mapping.values import get_path, is_voided, money, qbo_value
from sandbox.store import Store


def qbo_documents(store: Store, realm_id: str, entity: str) -> Iterator[dict[str, Any]]:
    """The realm's live documents of one entity, in id order (streamed: a company may be large)."""
    cursor = store.execute(
        "SELECT doc FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0 ORDER BY id",
        (realm_id, entity),
    )
    for (doc,) in cursor:
        yield json.loads(doc)


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = record
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


class Mirror:
    """QBO documents as platform records, field by field through the rendered spec."""

    def __init__(self, store: Store, realm_id: str, as_of: date) -> None:
        self.spec = rendered()
        self.as_of = as_of
        self.platform_id: dict[tuple[str, str], str] = {}  # (entity, qbo id) -> platform id
        self.linked: set[tuple[str, str]] = set()  # (entity, platform id) of records linked to QBO
        self.lookups: dict[str, dict[str, str]] = {}
        for table, entity in (("term", "Term"), ("payment_method", "PaymentMethod")):
            self.lookups[table] = {d["Id"]: d["Name"] for d in qbo_documents(store, realm_id, entity)}

    def references_unlinked(self, entity: str, record: dict[str, Any]) -> bool:
        """A record pointing at an unlinked one cannot have been synced: it is unlinked too."""
        spec = self.spec[entity]
        refs = [(f["link"], get_path(record, f["platform_path"])) for f in spec["fields"] if f["link"]]
        lines = spec["lines"]
        if lines is not None:
            for line in record.get(_line_array(entity), []):
                if lines["key"]["link"]:
                    refs.append((lines["key"]["link"], line.get(_key_wire(entity))))
                refs += [
                    (f["link"], get_path(line, f["platform_path"])) for f in lines["fields"] if f["link"]
                ]
        return any(value is not None and (link, value) not in self.linked for link, value in refs)

    def lookup(self, table: str, qbo_id: str) -> str | None:
        return self.lookups[table].get(qbo_id)

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

    def record(self, entity: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        """The mirrored DTO (wire names), or None when a reference it needs is not on the platform."""
        spec = self.spec[entity]
        record: dict[str, Any] = {}
        for f in spec["fields"]:
            value, ok = self.value(f, doc)
            if not ok:
                return None
            if value is not None:
                set_path(record, f["platform_path"], value)
        if spec["lines"] is not None:
            lines = self.lines(entity, spec["lines"], doc)
            if lines is None:
                return None
            record[_line_array(entity)] = lines
        return _complete(entity, record, doc)

    def lines(self, entity: str, lines: dict[str, Any], doc: dict[str, Any]) -> list[dict] | None:
        out = []
        key = lines["key"]
        for line in doc.get("Line", []):
            if any(get_path(line, path) != value for path, value in lines["qbo_where_paths"].items()):
                continue
            item: dict[str, Any] = {}
            key_value = get_path(line, key["qbo_path"])
            if key["link"]:
                key_value = self.platform_id.get((key["link"], str(key_value)))
                if key_value is None:
                    return None
            item[_key_wire(entity)] = key_value
            for f in lines["fields"]:
                value, ok = self.value(f, line)
                if not ok:
                    return None
                if value is not None:
                    set_path(item, f["platform_path"], value)
            out.append(item)
        if entity == "Invoice" and is_voided(doc):  # QBO drops quantities and prices of a voided invoice
            for item in out:
                item.update(quantity=Decimal(1), unitPrice=Decimal(0), amount=Decimal(0))
        return out


def _line_array(entity: str) -> str:
    return {"Invoice": "lines", "Bill": "lines", "Payment": "appliedTo"}[entity]


def _key_wire(entity: str) -> str:
    return {"Invoice": "lineNumber", "Bill": "lineNumber", "Payment": "invoiceId"}[entity]


def _complete(entity: str, record: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The DTO fields the spec does not compare: totals the platform keeps itself."""
    if entity == "Invoice":
        record["totalAmount"] = money(doc.get("TotalAmt"))
    elif entity == "Bill":
        record["totalAmount"] = sum((line["amount"] for line in record.get("lines", [])), Decimal(0))
    return record
