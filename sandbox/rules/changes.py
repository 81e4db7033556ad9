"""Every change a write makes, kept until its transaction commits and then announced (webhooks, CDC)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.store import Realm, Store


@dataclass(frozen=True)
class Change:
    realm_id: str
    entity: str
    id: str
    operation: str  # Create | Update | Delete | Merge | Void
    last_updated: float
    deleted_id: str | None = None


@dataclass
class Write:
    """One API call: the store and realm it writes to, its clock reading, the changes to announce."""

    store: Store
    realm: Realm
    now: int
    changes: list[Change] = field(default_factory=list)
