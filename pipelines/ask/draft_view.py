"""A drafted write as a person reads it before approving: who, each line as quantity x price = amount,
the total, the dates and the terms, whatever lists it (`qbo ask`, `qbo mcp`, `qbo approve`, the review
page).

The queued record is the platform DTO, which holds platform ids; the names are found back through the
published references (platform id -> QBO Id) and the warehouse (QBO Id -> display name). A name that
cannot be found (no warehouse, a record unlinked since) shows as its id: the listing never fails for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from pipelines.runtime.warehouse_sql import WarehouseSQL, open_warehouse

if TYPE_CHECKING:
    from pipelines.runtime.connector import Connector

PARTY = {"Invoice": ("Customer", "customerId"), "Bill": ("Vendor", "vendorId")}
DATE = {"Invoice": "issueDate", "Bill": "billDate"}
_NAME_SQL = {
    "Customer": "SELECT display_name FROM staging.stg_qbo__customers WHERE realm_id = ? AND qbo_id = ?",
    "Vendor": "SELECT display_name FROM staging.stg_qbo__vendors WHERE realm_id = ? AND qbo_id = ?",
    "Item": "SELECT name FROM staging.stg_qbo__items WHERE realm_id = ? AND qbo_id = ?",
    "Term": "SELECT name FROM staging.stg_qbo__terms WHERE realm_id = ? AND qbo_id = ?",
}


def view(
    entity: str, record: Mapping[str, Any], names: Mapping[tuple[str, str], str] | None = None
) -> dict[str, Any]:
    """The draft in full, in the DTO's (camelCase) names, with `names` ((entity, platform id or Term
    QBO Id) -> name) filled in: `party`, `lines` (item, description, quantity, unitPrice, amount),
    `totalAmount`, the dates, `terms`."""
    names = names or {}
    party_entity, party_field = PARTY.get(entity, ("Customer", "customerId"))
    party_id = record.get(party_field)
    lines = record.get("lines") if isinstance(record.get("lines"), list) else []
    shown: dict[str, Any] = {
        "entity": entity,
        "party": names.get((party_entity, str(party_id))) if party_id else None,
        party_field: party_id,
        "date": record.get(DATE.get(entity, "issueDate")),
        "dueDate": record.get("dueDate"),
        "terms": names.get(("Term", str(record["paymentTermsId"]))) if record.get("paymentTermsId") else None,
        "lines": [],
        "totalAmount": record.get("totalAmount") or record.get("amount"),
        "currency": record.get("currency") or "USD",
    }
    for line in lines:
        if not isinstance(line, Mapping):
            continue
        item_id = line.get("itemId")
        shown["lines"].append(
            {
                "item": names.get(("Item", str(item_id))) if item_id else None,
                "itemId": item_id,
                "description": line.get("description"),
                "quantity": line.get("quantity"),
                "unitPrice": line.get("unitPrice"),
                "amount": line.get("amount"),
                "expenseAccountId": line.get("expenseAccountId"),
            }
        )
    return shown


def text(shown: Mapping[str, Any]) -> list[str]:
    """The draft as lines of plain text: "Invoice to Kenji Nakamura", "1. Consulting: 3 x 150 = 450.00"."""
    party_entity, party_field = PARTY.get(shown.get("entity", ""), ("Customer", "customerId"))
    whom = shown.get("party") or f"{party_entity.lower()} {shown.get(party_field) or '?'}"
    head = f"{shown.get('entity', 'Draft')} {'to' if party_entity == 'Customer' else 'from'} {whom}"
    if shown.get("date"):
        head += f", dated {shown['date']}"
    if shown.get("dueDate"):
        head += f", due {shown['dueDate']}" + (f" ({shown['terms']})" if shown.get("terms") else "")
    out = [head]
    for n, line in enumerate(shown.get("lines") or [], start=1):
        what = line.get("item") or line.get("description") or "(no description)"
        described = str(line.get("description") or "")
        if line.get("item") and described and described.casefold() != str(line["item"]).casefold():
            what = f"{line['item']} - {described}"
        if line.get("quantity") is not None and line.get("unitPrice") is not None:
            figures = f"{line['quantity']} x {line['unitPrice']} = {line.get('amount')}"
        else:
            figures = str(line.get("amount"))
        account = f" (expense account {line['expenseAccountId']})" if line.get("expenseAccountId") else ""
        out.append(f"  {n}. {what}: {figures}{account}")
    total = shown.get("totalAmount")
    out.append(f"  total {total} {shown.get('currency') or 'USD'}" if total is not None else "  no total yet")
    return out


def names_of(
    connector: Connector, realm_id: str | None, entity: str, record: Mapping[str, Any]
) -> dict[tuple[str, str], str]:
    """The names of the party, the items and the terms a queued DTO points to, as far as they are known."""
    tenant = record.get("tenantId")
    party_entity, party_field = PARTY.get(entity, ("Customer", "customerId"))
    wanted: list[tuple[str, str]] = []
    if record.get(party_field):
        wanted.append((party_entity, str(record[party_field])))
    for line in record.get("lines") or []:
        if isinstance(line, Mapping) and line.get("itemId"):
            wanted.append(("Item", str(line["itemId"])))
    names: dict[tuple[str, str], str] = {}
    if not realm_id:
        return names
    # a listing shows ids rather than fail for a name it cannot find
    with suppress(Exception), open_warehouse(connector.settings.warehouse_target) as db:
        for kind, platform_id in wanted:
            linked = connector.store.references.link(realm_id, kind, str(tenant), platform_id)
            if linked is not None:
                _name(db, names, (kind, platform_id), kind, realm_id, linked[0])
        if record.get("paymentTermsId"):
            term = str(record["paymentTermsId"])
            _name(db, names, ("Term", term), "Term", realm_id, term)
    return names


def _name(
    db: WarehouseSQL,
    names: dict[tuple[str, str], str],
    key: tuple[str, str],
    kind: str,
    realm_id: str,
    qbo_id: str,
) -> None:
    rows = db.optional(_NAME_SQL[kind], [realm_id, qbo_id])
    if rows and rows[0][0]:
        names[key] = str(rows[0][0])


def queued(connector: Connector, write_id: int) -> dict[str, Any] | None:
    """A queued draft in full (`view`, plus its id, status and what is wrong with it), or None."""
    row = connector.store.intents.write(write_id)
    return None if row is None else of_row(connector, row)


def of_row(connector: Connector, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of the approval queue (`Intents.pending_writes()`, `Intents.write(id)`) in full."""
    record = row.get("record") if isinstance(row.get("record"), Mapping) else {}
    entity = str(row.get("entity") or "")
    shown = view(entity, record, names_of(connector, row.get("realm_id"), entity, record))
    error = row.get("error") if isinstance(row.get("error"), Mapping) else None
    return {
        "id": row.get("id"),
        "status": row.get("status"),
        **shown,
        "problem": error.get("message") if error else None,
    }
