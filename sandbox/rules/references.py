"""References between records: every XxxRef must point at a record that exists (2500) and is active
(610); QBO fills in the name of what it points at."""

from __future__ import annotations

from typing import Any

from sandbox import faults
from sandbox.rules.changes import Write
from sources.quickbooks.catalog import PARTY_ENTITIES

# reference property -> the entity it points at
REFERENCES: dict[str, str] = {
    "CustomerRef": "Customer",
    "VendorRef": "Vendor",
    "EmployeeRef": "Employee",
    "ItemRef": "Item",
    "AccountRef": "Account",
    "APAccountRef": "Account",
    "ARAccountRef": "Account",
    "DepositToAccountRef": "Account",
    "IncomeAccountRef": "Account",
    "ExpenseAccountRef": "Account",
    "AssetAccountRef": "Account",
    "DiscountAccountRef": "Account",
    "FromAccountRef": "Account",
    "ToAccountRef": "Account",
    "BankAccountRef": "Account",
    "CCAccountRef": "Account",
    "SalesTermRef": "Term",
    "PaymentMethodRef": "PaymentMethod",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "TxnTaxCodeRef": "TaxCode",
    "TaxRateRef": "TaxRate",
    "CustomerTypeRef": "CustomerType",
}
NAMED_REFERENCES = {
    "Customer",
    "Vendor",
    "Employee",
    "Item",
    "Account",
    "Term",
    "PaymentMethod",
    "Class",
    "Department",
    "CustomerType",
}
SPECIAL_TAX_CODES = {"TAX", "NON"}  # US companies' line-level pseudo codes


def resolve_references(w: Write, node: Any, entity: str, path: str = "") -> None:
    """Every XxxRef must point at an existing (2500) and active (610) record; fill in its name."""
    if isinstance(node, list):
        for item in node:
            resolve_references(w, item, entity, path)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("MetaData", "LinkedTxn"):
            continue
        target = REFERENCES.get(key)
        if key == "ParentRef" and not path:
            target = entity
        if key == "TaxCodeRef" and isinstance(value, dict) and value.get("value") in SPECIAL_TAX_CODES:
            continue
        if key in ("TaxCodeRef", "DefaultTaxCodeRef", "SalesTaxCodeRef", "PurchaseTaxCodeRef"):
            target = "TaxCode"
        if key == "EntityRef" and isinstance(value, dict):
            target = value.get("type") if value.get("type") in PARTY_ENTITIES else None
        if target and isinstance(value, dict):
            check_reference(w, target, key, value)
        elif isinstance(value, dict | list):
            resolve_references(w, value, entity, f"{path}.{key}")


def check_reference(w: Write, target: str, key: str, ref: dict[str, Any]) -> None:
    raw = ref.get("value")
    if raw in (None, ""):
        raise faults.required_param(f"{key}.value")
    if not str(raw).isdigit():
        raise faults.invalid_reference(key, str(raw))
    found = w.store.get(w.realm.realm_id, target, int(raw))
    if found is None:
        raise faults.invalid_reference(key, str(raw))
    if found.doc.get("Active") is False:
        raise faults.object_not_found(key)
    if target in NAMED_REFERENCES and key != "ParentRef":  # as QBO returns them; tax refs stay bare
        name = found.doc.get("DisplayName") or found.doc.get("FullyQualifiedName") or found.doc.get("Name")
        if name:
            ref["name"] = name
