"""The API's reads and writes of one realm, each write checked and completed as QBO does it.

A write runs in one store transaction; its changes are announced only once that commits.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from sandbox import faults
from sandbox.clock import format_meta, parse_instant
from sandbox.rules.changes import Change, Write
from sandbox.rules.client_input import SERVER_FIELDS, clean
from sandbox.rules.identity import current, meta, parse_id, same
from sandbox.rules.merges import repoint
from sandbox.rules.names import claim_names
from sandbox.rules.preparing import prepare
from sandbox.rules.versions import persist, tombstone, void_version
from sandbox.store import Realm, Store
from sources.quickbooks.catalog import ENTITIES, Kind


class WriteRules:
    def __init__(
        self,
        store: Store,
        on_change: Callable[[list[Change]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.on_change = on_change
        self.clock = clock

    # reads ---------------------------------------------------------------------------------
    def read(self, realm: Realm, entity: str, raw_id: str) -> dict[str, Any]:
        found = self.store.get(realm.realm_id, entity, parse_id(raw_id))
        if found is None:
            raise faults.object_not_found()
        return found.doc

    def singleton(self, realm: Realm, entity: str) -> dict[str, Any]:
        found = self.store.get(realm.realm_id, entity, 1)
        if found is None:
            raise faults.object_not_found()
        return found.doc

    # writes --------------------------------------------------------------------------------
    def save(self, realm: Realm, entity: str, body: Any) -> dict[str, Any]:
        """POST /{entity}: an update when the body carries an Id, else a create (as QBO reads it)."""
        if not isinstance(body, dict):
            raise faults.request_error(f"Request body must be a JSON object for {entity}")
        if body.get("Id") not in (None, ""):
            return self.update(realm, entity, body)
        return self.create(realm, entity, body)

    def create(self, realm: Realm, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        spec = ENTITIES[entity]
        if spec.read_only or spec.kind is Kind.SINGLETON:
            raise faults.unsupported_operation(f"Create is not supported for {entity}.")
        doc = clean(entity, body)
        for key in ("Id", "SyncToken", "MetaData", "status", *SERVER_FIELDS.get(entity, ())):
            doc.pop(key, None)
        with self.store.transaction():
            w = self._begin(realm)
            prepare(w, spec, doc, old=None)
            doc["Id"] = str(self.store.next_id(realm.realm_id, entity))
            doc["SyncToken"] = "0"
            doc["MetaData"] = meta(w.now, w.now, realm.tz)
            persist(w, spec, doc, old=None, operation="Create")
        self._announce(w)
        return doc

    def update(self, realm: Realm, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        spec = ENTITIES[entity]
        if spec.read_only:
            raise faults.unsupported_operation(f"Update is not supported for {entity}.")
        sparse = body.get("sparse") is True or str(body.get("sparse")).lower() == "true"
        if body.get("Id") in (None, ""):
            raise faults.required_param("Id")
        id_ = parse_id(body.get("Id"))
        with self.store.transaction():
            w = self._begin(realm)
            old = current(w, entity, id_, body)
            if sparse:  # only the given fields change; server-owned ones cannot be set at all
                doc = copy.deepcopy(old)
                owned = SERVER_FIELDS.get(entity, ())
                doc.update({k: v for k, v in clean(entity, body).items() if k not in owned})
            else:
                doc = clean(entity, body)
                for key in SERVER_FIELDS.get(entity, ()):
                    if key in old:
                        doc[key] = old[key]
            doc["Id"] = old["Id"]
            prepare(w, spec, doc, old=old)
            if same(doc, old):
                return old  # nothing changed: same SyncToken and LastUpdatedTime, as QBO answers
            doc["SyncToken"] = str(int(old["SyncToken"]) + 1)
            doc["MetaData"] = {**old.get("MetaData", {}), "LastUpdatedTime": format_meta(w.now, realm.tz)}
            operation = "Update"
            if spec.has_active and old.get("Active", True) and doc.get("Active") is False:
                operation = "Delete"  # a name list's "delete" is its deactivation
            persist(w, spec, doc, old=old, operation=operation)
        self._announce(w)
        return doc

    def delete(self, realm: Realm, entity: str, body: Any) -> dict[str, Any]:
        spec = ENTITIES[entity]
        if not spec.deletable:
            raise faults.unsupported_operation(
                f"Delete is not supported for {entity}: name lists are made inactive (Active=false)."
            )
        if not isinstance(body, dict):
            raise faults.request_error("Request body must be a JSON object with Id and SyncToken")
        id_ = parse_id(body.get("Id"))
        with self.store.transaction():
            w = self._begin(realm)
            old = current(w, entity, id_, body)
            tombstone(w, entity, old)
        self._announce(w)
        return {"domain": "QBO", "status": "Deleted", "Id": str(id_)}

    def void(self, realm: Realm, entity: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise faults.request_error("Request body must be a JSON object with Id and SyncToken")
        id_ = parse_id(body.get("Id"))
        with self.store.transaction():
            w = self._begin(realm)
            old = current(w, entity, id_, body)
            doc = void_version(w, entity, old)
        self._announce(w)
        return doc

    # back-office edits (admin API): no SyncToken, as a person in QBO's own screens ------------
    def edit(self, realm: Realm, entity: str, raw_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        old = self.read(realm, entity, raw_id)
        return self.update(
            realm, entity, {**changes, "Id": old["Id"], "SyncToken": old["SyncToken"], "sparse": True}
        )

    def deactivate(self, realm: Realm, entity: str, raw_id: str) -> dict[str, Any]:
        if not ENTITIES[entity].has_active:
            raise faults.unsupported_operation(f"{entity} has no Active flag; it cannot be deactivated.")
        return self.edit(realm, entity, raw_id, {"Active": False})

    def delete_by_id(self, realm: Realm, entity: str, raw_id: str) -> dict[str, Any]:
        old = self.read(realm, entity, raw_id)
        return self.delete(realm, entity, {"Id": old["Id"], "SyncToken": old["SyncToken"]})

    def void_by_id(self, realm: Realm, entity: str, raw_id: str) -> dict[str, Any]:
        old = self.read(realm, entity, raw_id)
        return self.void(realm, entity, {"Id": old["Id"], "SyncToken": old["SyncToken"]})

    def merge(self, realm: Realm, entity: str, raw_id: str, into: str) -> dict[str, Any]:
        """Merge one name-list record into another: references move, the merged one is deleted."""
        spec = ENTITIES[entity]
        if spec.kind is not Kind.LIST:
            raise faults.unsupported_operation(f"Merge is only for name lists, not {entity}.")
        source_id, target_id = parse_id(raw_id), parse_id(into)
        if source_id == target_id:
            raise faults.business_validation("A record cannot be merged into itself.")
        with self.store.transaction():
            w = self._begin(realm)
            source = self.store.get(realm.realm_id, entity, source_id)
            target = self.store.get(realm.realm_id, entity, target_id)
            if source is None or target is None:
                raise faults.object_not_found()
            repoint(w, entity, str(source_id), target.doc)
            tombstone(w, entity, source.doc, announce=False)
            w.changes.append(Change(realm.realm_id, entity, str(target_id), "Merge", w.now, str(source_id)))
        self._announce(w)
        return target.doc

    def import_docs(self, realm: Realm, entity: str, docs: list[dict[str, Any]]) -> list[str]:
        """Store documents as given (admin fixture loading); only missing server fields are filled."""
        spec = ENTITIES[entity]
        ids: list[str] = []
        w = self._begin(realm)
        now = w.now
        with self.store.transaction():
            for raw in docs:
                doc = copy.deepcopy(raw)
                if doc.get("Id") in (None, ""):
                    doc["Id"] = str(self.store.next_id(realm.realm_id, entity))
                parse_id(doc["Id"])  # a document with a non-numeric Id is refused, as QBO would
                doc.setdefault("SyncToken", "0")
                doc.setdefault("domain", "QBO")
                doc.setdefault("sparse", False)
                doc_meta = doc.setdefault("MetaData", meta(now, now, realm.tz))
                lut = parse_instant(doc_meta.get("LastUpdatedTime") or format_meta(now, realm.tz), realm.tz)
                ct = parse_instant(doc_meta.get("CreateTime") or doc_meta.get("LastUpdatedTime"), realm.tz)
                deleted = doc.get("status") == "Deleted"
                active = doc.get("Active", True) if spec.has_active else None
                self.store.put(realm.realm_id, entity, doc, lut=lut, ct=ct, active=active, deleted=deleted)
                claim_names(w, spec, doc)
                ids.append(doc["Id"])
        return ids

    # one write's context -------------------------------------------------------------------
    def _begin(self, realm: Realm) -> Write:
        return Write(self.store, realm, int(self.clock()))

    def _announce(self, w: Write) -> None:
        if self.on_change and w.changes:
            self.on_change(w.changes)
