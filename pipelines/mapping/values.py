"""A QBO document's mapped values, field by field, as dbt's QBO side computes them (macros/sync.sql).

Two callers need a QBO record's values outside the warehouse: the demo generator, mirroring QBO into
platform records, and the push, which on a stale-object fault re-reads the record and asks which
fields QBO changed since the last sync. `qbo_value` is dbt's `side_value` for QBO and `normalised`
its `normalised`, value for value; tests hold the two implementations to the same answers on every
record of the demo company.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

LINES_FIELD = "lines"  # a line array compares as one field: every line, in key order


CENT = Decimal("0.01")
Lookup = Callable[[str, str], str | None]  # (list table, QBO Id) -> the looked-up value (a Term's Name)


def get_path(doc: Any, path: str) -> Any:
    """A dotted QBO path; a list on the way is read at its first element (Line.LinkedTxn.TxnId)."""
    node = doc
    for part in path.split("."):
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def is_voided(doc: dict[str, Any]) -> bool:
    return str(doc.get("PrivateNote") or "").startswith("Voided") and money(doc.get("TotalAmt")) == 0


def invoice_status(balance: Decimal, total: Decimal, voided: bool) -> str:
    """The SPEC §5.2 status of a QBO invoice (macros/derived_fields.sql invoice_status)."""
    if voided:
        return "voided"
    if balance <= 0:
        return "paid"
    return "partially_paid" if balance < total else "open"


def derived(name: str, doc: dict[str, Any], as_of: date) -> Any:
    voided = is_voided(doc)
    if name == "invoice_voided":
        return voided
    if name == "invoice_discount":
        if voided:
            return Decimal(0)
        lines = doc.get("Line", [])
        return sum(
            (money(x.get("Amount")) for x in lines if x.get("DetailType") == "DiscountLineDetail"), Decimal(0)
        )
    if name == "invoice_status":
        return invoice_status(money(doc.get("Balance")), money(doc.get("TotalAmt")), voided)
    raise KeyError(f"no derived field {name}")


def qbo_value(f: dict[str, Any], doc: dict[str, Any], lookup: Lookup, as_of: date) -> Any:
    """A rendered spec field's value in a QBO document, in the platform's terms (links stay QBO Ids)."""
    if f["qbo_derived"]:
        return derived(f["qbo_derived"], doc, as_of)
    parts = [get_path(doc, p) for p in f["qbo_paths"]]
    if len(parts) > 1:
        return " ".join(str(p) for p in parts if p) or None
    value = parts[0]
    if f["lookup_table"] and value is not None:
        return lookup(f["lookup_table"], str(value))
    if f["enum"]:
        if value is None:
            return None
        return {v: k for k, v in f["enum"].items()}.get(str(value))
    return value


_SPACES = re.compile(r"\s+")


def normalised(rule: str, value: Any) -> str | None:
    """How a value compares under a rule, as text: dbt's `normalised` then `cast(... as varchar)`."""
    if rule == "bool":
        return "true" if value is True or str(value).lower() == "true" else "false"
    if rule in ("money", "number") and value is None:
        value = 0  # no amount is no money: QBO writes 0 where the platform leaves it out
    if value is None:
        return None
    if rule in ("text", "name"):
        text = _SPACES.sub(" ", str(value).strip())
        if rule == "name":
            text = text.removesuffix(" (deleted)")
        return text.lower() or None
    if rule == "code":
        return _SPACES.sub("", str(value)).upper() or None
    if rule == "email":
        return str(value).strip(" ").lower() or None
    if rule == "phone":
        digits = re.sub(r"[^0-9]", "", str(value))
        return (digits[1:] if len(digits) == 11 and digits[0] == "1" else digits) or None
    if rule == "money":
        return str(Decimal(str(value)).quantize(CENT, ROUND_HALF_UP))
    if rule == "number":
        return str(Decimal(str(value)).quantize(Decimal("0.0001"), ROUND_HALF_UP))
    if rule == "date":
        return str(value)[:10]
    return str(value).strip(" ") or None


def line_signature(lines: dict[str, Any], doc: dict[str, Any], lookup: Lookup, as_of: date) -> str | None:
    """A QBO record's line array as dbt's `line_signature` of n__ values: comparable as one field."""
    entries = []
    key = lines["key"]
    for line in doc.get("Line", []):
        if any(get_path(line, path) not in values for path, values in lines["qbo_where_paths"].items()):
            continue
        key_value = normalised("exact", get_path(line, key["qbo_path"]))
        values = [normalised(f["rule"], qbo_value(f, line, lookup, as_of)) for f in lines["fields"]]
        entries.append((key_value or "?", "|".join([key_value or "?", *(v or "" for v in values)])))
    return "; ".join(entry for _, entry in sorted(entries)) or None


def comparable(
    spec: dict[str, Any], doc: dict[str, Any], fields: list[str], lookup: Lookup, as_of: date
) -> dict[str, str | None]:
    """The normalised values of `fields` (spec names, `lines` too) of one QBO document."""
    by_name = {f["name"]: f for f in spec["fields"]}
    out: dict[str, str | None] = {}
    for name in fields:
        if name == LINES_FIELD:
            out[name] = line_signature(spec["lines"], doc, lookup, as_of) if spec["lines"] else None
        else:
            f = by_name[name]
            out[name] = normalised(f["rule"], qbo_value(f, doc, lookup, as_of))
    return out
