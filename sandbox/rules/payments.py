"""Payments and bill payments: what they apply must be open and belong to their party; applying
one reduces the invoice's (bill's) Balance and links the two both ways."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import faults
from sandbox.clock import company_today, format_meta, parse_instant
from sandbox.rules.changes import Change, Write
from sandbox.rules.client_input import USD, check_date, require
from sandbox.rules.party_balances import refresh_party_balance
from sandbox.transactions import applied_amounts, money, to_decimal

# payment entity -> (paid entity, TxnType in its lines)
APPLICATIONS = {"Payment": ("Invoice", "Invoice"), "BillPayment": ("Bill", "Bill")}


def prepare_payment(w: Write, entity: str, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
    realm = w.realm
    paid_entity, txn_type = APPLICATIONS[entity]
    if entity == "Payment":
        require(doc, "CustomerRef")
    else:
        require(doc, "VendorRef")
        if doc.get("PayType") not in ("Check", "CreditCard"):
            raise (
                faults.required_param("PayType")
                if "PayType" not in doc
                else faults.invalid_enum("PayType", doc["PayType"])
            )
    require(doc, "TotalAmt")
    total = to_decimal(doc["TotalAmt"], "TotalAmt")
    if total < 0:
        raise faults.business_validation("Payment amount cannot be negative.", "TotalAmt")
    doc["TotalAmt"] = money(total)
    lines = doc.get("Line") or []
    if not isinstance(lines, list):
        raise faults.request_error("Line must be an array")
    party_key = "CustomerRef" if entity == "Payment" else "VendorRef"
    previously = applied_amounts(old, txn_type) if old else {}
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise faults.request_error(f"Line[{index}] must be an object")
        line["Amount"] = money(to_decimal(line.get("Amount"), f"Line[{index}].Amount"))
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") != txn_type:
                continue
            raw = str(link.get("TxnId", ""))
            paid = w.store.get(realm.realm_id, paid_entity, int(raw)) if raw.isdigit() else None
            if paid is None:
                raise faults.invalid_reference("Line.LinkedTxn.TxnId", raw)
            if (paid.doc.get(party_key) or {}).get("value") != doc[party_key]["value"]:
                raise faults.business_validation(
                    f"{txn_type} {raw} belongs to another {party_key[:-3].lower()}.", "Line.LinkedTxn"
                )
    applied = applied_amounts(doc, txn_type)
    for txn_id, amount in applied.items():
        paid = w.store.get(realm.realm_id, paid_entity, txn_id)
        assert paid is not None
        open_amount = to_decimal(paid.doc.get("Balance", 0)) + previously.get(txn_id, Decimal(0))
        if amount > open_amount:
            raise faults.business_validation(
                f"The payment amount {money(amount)} is more than the open balance {money(open_amount)} "
                f"of {txn_type} {txn_id}.",
                "Line.Amount",
            )
    applied_total = sum(applied.values(), Decimal(0))
    if applied_total > total:
        raise faults.business_validation("The amounts applied exceed the payment total.", "TotalAmt")
    doc["Line"] = lines
    doc.setdefault("TxnDate", company_today(realm.tz).isoformat())
    check_date(doc, "TxnDate")
    doc.setdefault("CurrencyRef", dict(USD))
    if entity == "Payment":
        doc["UnappliedAmt"] = money(total - applied_total)
        doc.setdefault("ProcessPayment", False)
        if "DepositToAccountRef" not in doc:
            undeposited = account_by_name(w, "Undeposited Funds")
            if undeposited:
                doc["DepositToAccountRef"] = undeposited


def reapply(w: Write, entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Recompute the balance and links of every transaction this payment touches (old and new)."""
    paid_entity, txn_type = APPLICATIONS[entity]
    before = applied_amounts(old, txn_type) if old else {}
    after = applied_amounts(new, txn_type) if new else {}
    payment_id = (new or old or {}).get("Id")
    for txn_id in sorted(set(before) | set(after)):
        found = w.store.get(w.realm.realm_id, paid_entity, txn_id)
        if found is None:
            continue
        doc = found.doc
        links = [
            link
            for link in doc.get("LinkedTxn", [])
            if not (link.get("TxnType") == entity and link.get("TxnId") == payment_id)
        ]
        if txn_id in after:
            links.append({"TxnId": payment_id, "TxnType": entity})
        doc["LinkedTxn"] = links
        recompute_balance(w, paid_entity, doc)


def open_balance(w: Write, entity: str, doc: dict[str, Any]) -> int | float:
    """TotalAmt less what the linked (bill) payments apply to this invoice (bill)."""
    payment_entity = "Payment" if entity == "Invoice" else "BillPayment"
    payment_ids = [
        int(link["TxnId"])
        for link in doc.get("LinkedTxn", [])
        if link.get("TxnType") == payment_entity and str(link.get("TxnId", "")).isdigit()
    ]
    payments = w.store.docs_by_ids(w.realm.realm_id, payment_entity, payment_ids)
    txn_id = int(doc.get("Id") or 0)
    paid = sum((applied_amounts(p, entity).get(txn_id, Decimal(0)) for p in payments.values()), Decimal(0))
    return money(to_decimal(doc.get("TotalAmt", 0)) - paid)


def recompute_balance(w: Write, entity: str, doc: dict[str, Any]) -> None:
    doc["Balance"] = open_balance(w, entity, doc)
    doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
    doc["MetaData"] = {**doc.get("MetaData", {}), "LastUpdatedTime": format_meta(w.now, w.realm.tz)}
    meta = doc["MetaData"]
    w.store.put(
        w.realm.realm_id,
        entity,
        doc,
        lut=w.now,
        ct=parse_instant(meta.get("CreateTime") or meta["LastUpdatedTime"], w.realm.tz),
        active=None,
    )
    w.changes.append(Change(w.realm.realm_id, entity, doc["Id"], "Update", w.now))
    refresh_party_balance(w, entity, doc, None)


def account_by_name(w: Write, name: str) -> dict[str, str] | None:
    row = w.store.execute(
        "SELECT id, json_extract(doc, '$.Name') FROM entities WHERE realm_id = ? AND entity = 'Account' "
        "AND deleted = 0 AND json_extract(doc, '$.Name') = ? LIMIT 1",
        (w.realm.realm_id, name),
    ).fetchone()
    return {"value": str(row[0]), "name": row[1]} if row else None
