"""Names in name lists: unique per namespace, case-insensitive (6240: DisplayName across customers,
vendors and employees); " (deleted)" appended on deactivation; "Parent:Child" for hierarchical lists.
"""

from __future__ import annotations

from typing import Any

from sandbox import faults
from sandbox.rules.changes import Write
from sources.quickbooks.catalog import PARTY_ENTITIES, EntitySpec

DELETED_SUFFIX = " (deleted)"
QUALIFIED_NAMES = {"Account", "Item", "Class", "Department"}  # hierarchical lists: "Parent:Child" names


def name_key(entity: str, doc: dict[str, Any]) -> tuple[str | None, str | None]:
    """(uniqueness namespace, name) of a document; (None, None) for entities without unique names."""
    if entity in PARTY_ENTITIES:
        return "party", doc.get("DisplayName")
    if entity in ("Item", "Account", "Class", "Department", "Term", "PaymentMethod", "CustomerType"):
        return entity, doc.get("FullyQualifiedName") or doc.get("Name")
    if entity == "TaxAgency":
        return entity, doc.get("DisplayName")
    return None, None


def claim_names(w: Write, spec: EntitySpec, doc: dict[str, Any]) -> None:
    namespace, name = name_key(spec.name, doc)
    if namespace is None or not name:
        return
    owner = w.store.name_owner(w.realm.realm_id, namespace, name)
    if owner is not None and owner != (spec.name, int(doc["Id"])):
        raise (
            faults.duplicate_name()
            if spec.name in PARTY_ENTITIES
            else faults.duplicate_name_in_list(spec.name)
        )
    w.store.claim_name(w.realm.realm_id, namespace, name, spec.name, int(doc["Id"]))


def apply_active_suffix(entity: str, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
    key = "DisplayName" if entity in PARTY_ENTITIES else "Name"
    if key not in doc:
        return
    if doc.get("Active") is False and not doc[key].endswith(DELETED_SUFFIX):
        doc[key] += DELETED_SUFFIX
        if entity == "Customer":
            doc["FullyQualifiedName"] = doc["FullyQualifiedName"] + DELETED_SUFFIX
    elif doc.get("Active", True) and old is not None and old.get("Active") is False:
        doc[key] = doc[key].removesuffix(DELETED_SUFFIX)
        if entity == "Customer":
            doc["FullyQualifiedName"] = doc["FullyQualifiedName"].removesuffix(DELETED_SUFFIX)


def qualified(w: Write, entity: str, doc: dict[str, Any], name: str) -> str:
    parent = doc.get("ParentRef")
    if parent and str(parent.get("value", "")).isdigit():
        found = w.store.get(w.realm.realm_id, entity, int(parent["value"]))
        if found is not None:
            return f"{found.doc.get('FullyQualifiedName', found.doc.get('Name'))}:{name}"
    return name
