"""Merging one name-list record into another: every reference to the merged one moves to the target."""

from __future__ import annotations

import json
from typing import Any

from sandbox.clock import format_meta, parse_instant
from sandbox.rules.changes import Change, Write
from sandbox.rules.references import REFERENCES
from sources.quickbooks.catalog import ENTITIES


def repoint(w: Write, entity: str, source_id: str, target: dict[str, Any]) -> None:
    """Move every reference to `source_id` onto the merge target (transactions and sub-records)."""
    name = target.get("DisplayName") or target.get("Name")
    needle = f'"value":"{source_id}"'
    ref_keys = [k for k, v in REFERENCES.items() if v == entity] + (
        ["ParentRef"] if entity != "Account" else []
    )
    rows = w.store.execute(
        "SELECT entity, id, doc FROM entities WHERE realm_id = ? AND deleted = 0 AND instr(doc, ?) > 0",
        (w.realm.realm_id, needle),
    ).fetchall()
    for other_entity, other_id, text in rows:
        doc = json.loads(text)
        if not rewrite_refs(
            doc, ref_keys, source_id, target["Id"], name, top_entity=other_entity, merged_entity=entity
        ):
            continue
        doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
        doc["MetaData"] = {**doc.get("MetaData", {}), "LastUpdatedTime": format_meta(w.now, w.realm.tz)}
        spec = ENTITIES[other_entity]
        w.store.put(
            w.realm.realm_id,
            other_entity,
            doc,
            lut=w.now,
            ct=parse_instant(
                doc["MetaData"].get("CreateTime") or doc["MetaData"]["LastUpdatedTime"], w.realm.tz
            ),
            active=doc.get("Active", True) if spec.has_active else None,
        )
        w.changes.append(Change(w.realm.realm_id, other_entity, str(other_id), "Update", w.now))


def rewrite_refs(
    node: Any, keys: list[str], old: str, new: str, name: str | None, top_entity: str, merged_entity: str
) -> bool:
    changed = False
    if isinstance(node, list):
        for item in node:
            changed |= rewrite_refs(item, keys, old, new, name, top_entity, merged_entity)
        return changed
    if not isinstance(node, dict):
        return False
    for key, value in node.items():
        is_ref = key in keys and (key != "ParentRef" or top_entity == merged_entity)
        if is_ref and isinstance(value, dict) and str(value.get("value")) == old:
            value["value"] = new
            if name:
                value["name"] = name
            changed = True
        elif isinstance(value, dict | list):
            changed |= rewrite_refs(value, keys, old, new, name, top_entity, merged_entity)
    return changed
