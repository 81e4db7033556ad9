"""Id, SyncToken and MetaData: how a client tells one version of a record from the next.

A write that names a stale SyncToken is refused (5010), so two clients never overwrite each other.
"""

from __future__ import annotations

from typing import Any

from sandbox import faults
from sandbox.clock import format_meta
from sandbox.rules.changes import Write

UNVERSIONED = ("SyncToken", "MetaData", "sparse", "domain")  # what a no-op update may differ in


def parse_id(raw: Any) -> int:
    text = "" if raw is None else str(raw)
    if not text.isdigit():
        raise faults.invalid_id(text)
    return int(text)


def meta(create: float, update: float, tz: str) -> dict[str, str]:
    return {"CreateTime": format_meta(create, tz), "LastUpdatedTime": format_meta(update, tz)}


def current(w: Write, entity: str, id_: int, body: dict[str, Any]) -> dict[str, Any]:
    """The stored version a write applies to, if the body names its SyncToken."""
    found = w.store.get(w.realm.realm_id, entity, id_)
    if found is None:
        raise faults.object_not_found()
    token = body.get("SyncToken")
    if token in (None, ""):
        raise faults.required_param("SyncToken")
    if str(token) != found.doc.get("SyncToken"):
        raise faults.stale_object()
    return found.doc


def same(doc: dict[str, Any], old: dict[str, Any]) -> bool:
    """True when an update changes nothing: QBO then keeps the SyncToken and LastUpdatedTime."""
    return {k: v for k, v in doc.items() if k not in UNVERSIONED} == {
        k: v for k, v in old.items() if k not in UNVERSIONED
    }
