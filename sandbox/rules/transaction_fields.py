"""What QBO checks and fills in on sales forms, expense forms, journal entries, deposits, transfers
and time: lines that add up, tax from the customer's code, DocNumber, DueDate from the terms."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from sandbox import faults
from sandbox.clock import add_days, company_today
from sandbox.rules.changes import Write
from sandbox.rules.client_input import USD, check_date, require
from sandbox.rules.payments import open_balance
from sandbox.transactions import (
    journal_balanced,
    line_total,
    money,
    normalise_lines,
    sales_totals,
    to_decimal,
)

SALES_FORMS = ("Invoice", "SalesReceipt", "Estimate", "CreditMemo", "RefundReceipt")
EXPENSE_FORMS = ("Bill", "VendorCredit", "PurchaseOrder", "Purchase")


def prepare_sales_form(w: Write, entity: str, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
    require(doc, "CustomerRef")
    doc["Line"] = normalise_lines(entity, doc.get("Line"))
    realm = w.realm
    customer = w.store.get(realm.realm_id, "Customer", int(doc["CustomerRef"]["value"]))
    assert customer is not None
    today = company_today(realm.tz)
    doc.setdefault("TxnDate", today.isoformat())
    check_date(doc, "TxnDate")
    if "DocNumber" not in doc and entity != "RefundReceipt":
        doc["DocNumber"] = next_doc_number(w, entity)
    elif doc.get("DocNumber") and entity == "Invoice":
        check_doc_number(w, entity, doc)
    for addr in ("BillAddr", "ShipAddr"):
        if addr not in doc and addr in customer.doc:
            doc[addr] = copy.deepcopy(customer.doc[addr])
    doc.setdefault("CurrencyRef", dict(USD))
    doc.setdefault("ApplyTaxAfterDiscount", False)
    doc.setdefault("PrintStatus", "NotSet")
    if entity != "RefundReceipt":  # QBO's RefundReceipt has no EmailStatus (fault 2010 if sent)
        doc.setdefault("EmailStatus", "NotSet")
    if entity in ("Invoice", "Estimate", "SalesReceipt"):
        doc.setdefault("LinkedTxn", [])
    percent, rate_id = tax_rate(w, doc, customer.doc)
    sales_totals(doc, percent, rate_id)
    if entity == "Invoice":
        doc.setdefault("AllowIPNPayment", False)
        doc.setdefault("AllowOnlinePayment", False)
        doc.setdefault("AllowOnlineCreditCardPayment", False)
        doc.setdefault("AllowOnlineACHPayment", False)
        if "DueDate" not in doc:
            doc["DueDate"] = due_date(w, doc, customer.doc)
        doc["Balance"] = doc["TotalAmt"] if old is None else open_balance(w, entity, doc)
    elif entity in ("SalesReceipt", "RefundReceipt"):
        doc["Balance"] = 0
    elif entity == "CreditMemo":
        doc["Balance"] = doc["RemainingCredit"] = doc["TotalAmt"]


def prepare_expense_form(w: Write, entity: str, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
    realm = w.realm
    if entity == "Purchase":
        require(doc, "AccountRef")
        if doc.get("PaymentType") not in ("Cash", "Check", "CreditCard"):
            raise (
                faults.required_param("PaymentType")
                if "PaymentType" not in doc
                else faults.invalid_enum("PaymentType", doc["PaymentType"])
            )
    else:
        require(doc, "VendorRef")
    doc["Line"] = normalise_lines(entity, doc.get("Line"))
    for line in doc["Line"]:
        detail = line.get("AccountBasedExpenseLineDetail")
        if detail is not None and not (detail.get("AccountRef") or {}).get("value"):
            raise faults.required_param("Line.AccountBasedExpenseLineDetail.AccountRef")
    doc.setdefault("TxnDate", company_today(realm.tz).isoformat())
    check_date(doc, "TxnDate")
    doc.setdefault("CurrencyRef", dict(USD))
    doc["TotalAmt"] = money(line_total(doc))
    if entity == "Bill":
        if "APAccountRef" not in doc:
            ap = account_by_type(w, "Accounts Payable")
            if ap:
                doc["APAccountRef"] = ap
        if "DueDate" not in doc:
            doc["DueDate"] = due_date(w, doc, None)
        doc["Balance"] = doc["TotalAmt"] if old is None else open_balance(w, entity, doc)
    if entity == "PurchaseOrder":
        doc.setdefault("POStatus", "Open")


def prepare_journal_entry(w: Write, doc: dict[str, Any]) -> None:
    doc["Line"] = normalise_lines("JournalEntry", doc.get("Line"))
    journal_balanced(doc)
    doc.setdefault("TxnDate", company_today(w.realm.tz).isoformat())


def prepare_deposit(w: Write, doc: dict[str, Any]) -> None:
    require(doc, "DepositToAccountRef")
    doc["Line"] = normalise_lines("Deposit", doc.get("Line"))
    doc["TotalAmt"] = money(line_total(doc))
    doc.setdefault("TxnDate", company_today(w.realm.tz).isoformat())


def prepare_transfer(w: Write, doc: dict[str, Any]) -> None:
    for key in ("FromAccountRef", "ToAccountRef", "Amount"):
        require(doc, key)
    if doc["FromAccountRef"]["value"] == doc["ToAccountRef"]["value"]:
        raise faults.business_validation("Transfer accounts must be different.", "ToAccountRef")
    doc["Amount"] = money(doc["Amount"])
    doc.setdefault("TxnDate", company_today(w.realm.tz).isoformat())


def prepare_time_activity(w: Write, doc: dict[str, Any]) -> None:
    require(doc, "NameOf")
    ref = "EmployeeRef" if doc["NameOf"] == "Employee" else "VendorRef"
    require(doc, ref)
    doc.setdefault("TxnDate", company_today(w.realm.tz).isoformat())


def next_doc_number(w: Write, entity: str) -> str:
    row = w.store.execute(
        "SELECT MAX(CAST(json_extract(doc, '$.DocNumber') AS INTEGER)) FROM entities "
        "WHERE realm_id = ? AND entity = ? AND deleted = 0",
        (w.realm.realm_id, entity),
    ).fetchone()
    return str(max(int(row[0] or 0), 1000) + 1)


def check_doc_number(w: Write, entity: str, doc: dict[str, Any]) -> None:
    row = w.store.execute(
        "SELECT id FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0 "
        "AND json_extract(doc, '$.DocNumber') = ? AND id != ? LIMIT 1",
        (w.realm.realm_id, entity, str(doc["DocNumber"]), int(doc.get("Id") or 0)),
    ).fetchone()
    if row is not None:
        raise faults.duplicate_doc_number(str(doc["DocNumber"]))


def tax_rate(w: Write, doc: dict[str, Any], customer: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    detail = doc.get("TxnTaxDetail") or {}
    code_ref = detail.get("TxnTaxCodeRef")
    if not code_ref or customer.get("Taxable") is False:
        if customer.get("Taxable") is False:
            doc["TxnTaxDetail"] = {**detail, "TotalTax": 0}
            doc["TxnTaxDetail"].pop("TaxLine", None)
        return None, None
    code = w.store.get(w.realm.realm_id, "TaxCode", int(code_ref["value"]))
    rates = ((code.doc if code else {}).get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    if not rates:
        return None, None
    rate_id = rates[0]["TaxRateRef"]["value"]
    rate = w.store.get(w.realm.realm_id, "TaxRate", int(rate_id))
    if rate is None:
        return None, None
    return to_decimal(rate.doc.get("RateValue", 0)), rate_id


def due_date(w: Write, doc: dict[str, Any], customer: dict[str, Any] | None) -> str:
    term_ref = doc.get("SalesTermRef") or (customer or {}).get("SalesTermRef")
    days = 30
    if term_ref and str(term_ref.get("value", "")).isdigit():
        term = w.store.get(w.realm.realm_id, "Term", int(term_ref["value"]))
        if term is not None:
            days = int(term.doc.get("DueDays", 30))
    return add_days(date.fromisoformat(doc["TxnDate"]), days).isoformat()


def account_by_type(w: Write, account_type: str) -> dict[str, str] | None:
    row = w.store.execute(
        "SELECT id, json_extract(doc, '$.Name') FROM entities WHERE realm_id = ? AND entity = 'Account' "
        "AND deleted = 0 AND active = 1 AND json_extract(doc, '$.AccountType') = ? ORDER BY id LIMIT 1",
        (w.realm.realm_id, account_type),
    ).fetchone()
    return {"value": str(row[0]), "name": row[1]} if row else None
