"""What QBO fills in on customers, vendors, employees, items and accounts: derived names, jobs'
hierarchy, tax defaults, account classification, zero balances to start from."""

from __future__ import annotations

from typing import Any

from sandbox import faults
from sandbox.rules.changes import Write
from sandbox.rules.client_input import USD, require
from sandbox.rules.names import DELETED_SUFFIX
from sandbox.transactions import money

CLASSIFICATION = {
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Equity": "Equity",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Long Term Liability": "Liability",
    "Other Current Liability": "Liability",
    "Income": "Revenue",
    "Other Income": "Revenue",
}
ITEM_TYPES = {"Service", "Inventory", "NonInventory", "Group", "Category"}


def prepare_party(w: Write, entity: str, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
    if not doc.get("DisplayName"):
        parts = [doc.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
        derived = " ".join(p for p in parts if p) or (
            doc.get("CompanyName") if entity != "Employee" else None
        )
        if not derived:
            raise faults.required_param("DisplayName")
        doc["DisplayName"] = derived
    doc.setdefault("PrintOnCheckName", doc["DisplayName"].removesuffix(DELETED_SUFFIX))
    doc.setdefault("Active", True)
    if entity == "Customer":
        doc.setdefault("Taxable", "TaxExemptionReasonId" not in doc)
        if doc["Taxable"] and "DefaultTaxCodeRef" not in doc:
            doc["DefaultTaxCodeRef"] = {"value": "2"} if w.store.get(w.realm.realm_id, "TaxCode", 2) else None
            if doc["DefaultTaxCodeRef"] is None:
                del doc["DefaultTaxCodeRef"]
        parent = doc.get("ParentRef")
        if parent:
            parent_doc = w.store.get(w.realm.realm_id, "Customer", int(parent["value"]))
            assert parent_doc is not None  # checked by resolve_references
            doc["Job"] = True
            doc["Level"] = int(parent_doc.doc.get("Level", 0)) + 1
            doc.setdefault("BillWithParent", False)
            doc["FullyQualifiedName"] = f"{parent_doc.doc['FullyQualifiedName']}:{doc['DisplayName']}"
        else:
            doc["Job"] = False
            doc.pop("Level", None)
            doc["FullyQualifiedName"] = doc["DisplayName"]
        doc.setdefault("BillWithParent", False)
        doc.setdefault("Balance", 0)
        doc.setdefault("BalanceWithJobs", doc["Balance"])
        doc.setdefault("PreferredDeliveryMethod", "Print")
        doc.setdefault("CurrencyRef", dict(USD))
    elif entity == "Vendor":
        doc.setdefault("Balance", 0)
        doc.setdefault("Vendor1099", False)
        doc.setdefault("CurrencyRef", dict(USD))
    else:
        doc.setdefault("BillableTime", False)


def prepare_item(doc: dict[str, Any]) -> None:
    require(doc, "Name")
    item_type = doc.setdefault("Type", "Service")
    if item_type not in ITEM_TYPES:
        raise faults.invalid_enum("Type", item_type)
    if item_type in ("Service", "NonInventory", "Inventory"):
        require(doc, "IncomeAccountRef")
    if item_type == "Inventory":
        for key in ("ExpenseAccountRef", "AssetAccountRef", "QtyOnHand", "InvStartDate"):
            require(doc, key)
        doc["TrackQtyOnHand"] = True
    doc.setdefault("Active", True)
    doc.setdefault("Taxable", False)
    doc.setdefault("UnitPrice", 0)
    doc.setdefault("PurchaseCost", 0)
    doc.setdefault("TrackQtyOnHand", False)
    for key in ("UnitPrice", "PurchaseCost"):
        doc[key] = money(doc[key])


def prepare_account(doc: dict[str, Any]) -> None:
    require(doc, "Name")
    if not doc.get("AccountType"):
        if not doc.get("AccountSubType"):
            raise faults.required_param("AccountType")
        doc["AccountType"] = "Expense"
    doc["Classification"] = CLASSIFICATION.get(doc["AccountType"], "Asset")
    doc.setdefault("SubAccount", "ParentRef" in doc)
    doc.setdefault("CurrentBalance", 0)
    doc.setdefault("CurrentBalanceWithSubAccounts", doc["CurrentBalance"])
    doc.setdefault("CurrencyRef", dict(USD))
