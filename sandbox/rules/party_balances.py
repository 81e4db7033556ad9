"""Customer and vendor balances are derived, never written by a client: every write that moves an
invoice's or bill's open amount refreshes them here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.clock import parse_instant
from sandbox.rules.changes import Write
from sandbox.transactions import money, to_decimal


def refresh_party_balance(
    w: Write, entity: str, new: dict[str, Any] | None, old: dict[str, Any] | None
) -> None:
    """Customer/Vendor Balance is the sum of their open invoices/bills (a derived field:
    it changes without a new SyncToken, so a balance move never makes a client's copy stale)."""
    if entity not in ("Invoice", "Bill"):
        return
    party_entity, key = ("Customer", "CustomerRef") if entity == "Invoice" else ("Vendor", "VendorRef")
    ids = {
        int(d[key]["value"]) for d in (new, old) if d and str((d.get(key) or {}).get("value", "")).isdigit()
    }
    if party_entity == "Customer":  # a job's balance also counts in every ancestor's BalanceWithJobs
        for party_id in list(ids):
            ids |= ancestors(w, party_id)
    for party_id in ids:
        party = w.store.get(w.realm.realm_id, party_entity, party_id)
        if party is None:
            continue
        party.doc["Balance"] = money(open_total(w, entity, key, [party_id]))
        if party_entity == "Customer":
            family = [party_id, *descendants(w, party_id)]
            party.doc["BalanceWithJobs"] = money(open_total(w, entity, key, family))
        meta = party.doc["MetaData"]
        w.store.put(
            w.realm.realm_id,
            party_entity,
            party.doc,
            lut=parse_instant(meta["LastUpdatedTime"], w.realm.tz),
            ct=parse_instant(meta["CreateTime"], w.realm.tz),
            active=party.doc.get("Active", True),
        )


def open_total(w: Write, entity: str, key: str, party_ids: list[int]) -> Decimal:
    marks = ",".join("?" * len(party_ids))
    ref = f"json_extract(doc, '$.{key}.value')"  # key is CustomerRef or VendorRef: indexed expressions
    sql = f"SELECT json_extract(doc, '$.Balance') FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0 AND {ref} IN ({marks})"  # noqa: E501
    rows = w.store.execute(sql, (w.realm.realm_id, entity, *map(str, party_ids))).fetchall()
    return sum((to_decimal(row[0]) for row in rows), Decimal(0))


def ancestors(w: Write, customer_id: int) -> set[int]:
    found: set[int] = set()
    current = w.store.get(w.realm.realm_id, "Customer", customer_id)
    while current and str((current.doc.get("ParentRef") or {}).get("value", "")).isdigit():
        parent_id = int(current.doc["ParentRef"]["value"])
        if parent_id in found:
            break
        found.add(parent_id)
        current = w.store.get(w.realm.realm_id, "Customer", parent_id)
    return found


def descendants(w: Write, customer_id: int) -> list[int]:
    rows = w.store.execute(
        "WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT c.id FROM entities c JOIN tree t "
        "ON json_extract(c.doc, '$.ParentRef.value') = CAST(t.id AS TEXT) "
        "WHERE c.realm_id = ? AND c.entity = 'Customer' AND c.deleted = 0) "
        "SELECT id FROM tree WHERE id != ?",
        (customer_id, w.realm.realm_id, customer_id),
    ).fetchall()
    return [row[0] for row in rows]
