"""Storing a new version of a record, or its tombstone, and what follows from it: names claimed or
released, payments reapplied, party balances refreshed, the change recorded for the webhooks."""

from __future__ import annotations

import copy
from typing import Any

from sandbox import faults
from sandbox.clock import format_meta, parse_instant
from sandbox.rules.changes import Change, Write
from sandbox.rules.names import claim_names
from sandbox.rules.party_balances import refresh_party_balance
from sandbox.rules.payments import APPLICATIONS, reapply
from sandbox.transactions import to_decimal, void_amounts
from sources.quickbooks.catalog import ENTITIES, EntitySpec


def persist(
    w: Write, spec: EntitySpec, doc: dict[str, Any], old: dict[str, Any] | None, operation: str
) -> None:
    realm = w.realm
    doc["domain"] = "QBO"
    doc["sparse"] = False
    claim_names(w, spec, doc)
    meta = doc["MetaData"]
    active = doc.get("Active", True) if spec.has_active else None
    w.store.put(
        realm.realm_id,
        spec.name,
        doc,
        lut=parse_instant(meta["LastUpdatedTime"], realm.tz),
        ct=parse_instant(meta["CreateTime"], realm.tz),
        active=active,
    )
    w.changes.append(Change(realm.realm_id, spec.name, doc["Id"], operation, w.now))
    if spec.name in APPLICATIONS:
        reapply(w, spec.name, old, doc)
    refresh_party_balance(w, spec.name, doc, old)


def tombstone(w: Write, entity: str, old: dict[str, Any], announce: bool = True) -> None:
    """Delete a transaction: a paid invoice or bill cannot go until its payments do."""
    realm = w.realm
    if entity in ("Invoice", "Bill") and to_decimal(old.get("Balance", 0)) != to_decimal(
        old.get("TotalAmt", 0)
    ):
        raise faults.business_validation(
            f"This {entity.lower()} has payments applied. Delete or unapply the payments first."
        )
    tomb = {
        "domain": "QBO",
        "status": "Deleted",
        "Id": old["Id"],
        "MetaData": {"LastUpdatedTime": format_meta(w.now, realm.tz)},
    }
    created = parse_instant(
        old.get("MetaData", {}).get("CreateTime") or tomb["MetaData"]["LastUpdatedTime"], realm.tz
    )
    w.store.put(realm.realm_id, entity, tomb, lut=w.now, ct=created, active=None, deleted=True)
    w.store.release_names(realm.realm_id, entity, int(old["Id"]))
    if entity in APPLICATIONS:
        reapply(w, entity, old, None)
    refresh_party_balance(w, entity, None, old)
    if announce:
        w.changes.append(Change(realm.realm_id, entity, old["Id"], "Delete", w.now))


def void_version(w: Write, entity: str, old: dict[str, Any]) -> dict[str, Any]:
    """A voided transaction stays, with every amount zero: a new version, not a deletion."""
    spec = ENTITIES[entity]
    if spec.void is None:
        raise faults.unsupported_operation(f"Void is not supported for {entity}.")
    doc = copy.deepcopy(old)
    void_amounts(doc)
    doc["SyncToken"] = str(int(old["SyncToken"]) + 1)
    doc["MetaData"] = {**old.get("MetaData", {}), "LastUpdatedTime": format_meta(w.now, w.realm.tz)}
    persist(w, spec, doc, old=old, operation="Void")
    return doc
