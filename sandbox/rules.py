"""What QBO does when something is written: the rules clients depend on.

Server-assigned `Id`; `SyncToken` checked on every write (stale: 5010) and bumped on every change
(a no-op sparse update keeps it, as the real API does); `MetaData` in the company's offset;
DisplayName unique across customers, vendors and employees (6240); required fields (2020);
unknown properties (2010); references that must exist (2500) and be active (610); sales forms
that add up; payments that reduce the invoices they pay and link both ways; name lists that are
never deleted but made inactive, with " (deleted)" appended to their name.

Every change is reported as a `Change`, which the webhook emitter turns into notifications.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sandbox import faults
from sandbox.clock import add_days, company_today, format_meta, parse_instant
from sandbox.properties import COMMON, KNOWN
from sandbox.store import Realm, Store
from sandbox.transactions import (
    applied_amounts,
    journal_balanced,
    line_total,
    money,
    normalise_lines,
    sales_totals,
    to_decimal,
    void_amounts,
)
from sources.quickbooks.catalog import ENTITIES, PARTY_ENTITIES, EntitySpec, Kind

DELETED_SUFFIX = " (deleted)"
USD = {"value": "USD", "name": "United States Dollar"}

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
SPECIAL_TAX_CODES = {"TAX", "NON"}
QUALIFIED_NAMES = {
    "Account",
    "Item",
    "Class",
    "Department",
}  # hierarchical lists: "Parent:Child" names  # US companies' line-level pseudo codes

# Lengths QBO enforces (fault 2050); the reverse ETL validates against the same limits.
MAX_LENGTHS: dict[str, dict[str, int]] = {
    "Customer": {
        "DisplayName": 500,
        "GivenName": 100,
        "MiddleName": 100,
        "FamilyName": 100,
        "CompanyName": 100,
        "Title": 16,
        "Suffix": 16,
        "PrintOnCheckName": 110,
        "Notes": 2000,
    },
    "Vendor": {
        "DisplayName": 500,
        "GivenName": 100,
        "MiddleName": 100,
        "FamilyName": 100,
        "CompanyName": 100,
        "Title": 16,
        "Suffix": 16,
        "PrintOnCheckName": 110,
        "AcctNum": 100,
    },
    "Employee": {
        "DisplayName": 500,
        "GivenName": 100,
        "MiddleName": 100,
        "FamilyName": 100,
        "Title": 16,
        "Suffix": 16,
        "PrintOnCheckName": 100,
    },
    "Item": {"Name": 100, "Description": 4000, "PurchaseDesc": 4000, "Sku": 100},
    "Account": {"Name": 100, "Description": 100, "AcctNum": 20},
    "Invoice": {"DocNumber": 21, "PrivateNote": 4000},
    "Bill": {"DocNumber": 21, "PrivateNote": 4000},
    "Payment": {"PaymentRefNum": 21, "PrivateNote": 4000},
}
# Fields the server owns: a client cannot set them, a full update does not clear them.
SERVER_FIELDS: dict[str, tuple[str, ...]] = {
    "Customer": ("Balance", "BalanceWithJobs", "FullyQualifiedName", "Level", "Job"),
    "Vendor": ("Balance",),
    "Account": ("CurrentBalance", "CurrentBalanceWithSubAccounts", "FullyQualifiedName", "Classification"),
    "Item": ("FullyQualifiedName", "Level"),
    "Invoice": ("Balance", "LinkedTxn"),
    "Bill": ("Balance", "LinkedTxn"),
    "CreditMemo": ("Balance", "RemainingCredit"),
}
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
SALES_FORMS = ("Invoice", "SalesReceipt", "Estimate", "CreditMemo", "RefundReceipt")
EXPENSE_FORMS = ("Bill", "VendorCredit", "PurchaseOrder", "Purchase")
# payment entity -> (paid entity, TxnType in its lines)
APPLICATIONS = {"Payment": ("Invoice", "Invoice"), "BillPayment": ("Bill", "Bill")}


@dataclass(frozen=True)
class Change:
    realm_id: str
    entity: str
    id: str
    operation: str  # Create | Update | Delete | Merge | Void
    last_updated: float
    deleted_id: str | None = None


@dataclass
class _Write:
    """One API call's context: the realm, the clock reading, the changes to announce."""

    realm: Realm
    now: int
    changes: list[Change] = field(default_factory=list)


class Books:
    """The realm's books with QBO's write rules on top of the store."""

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
        doc = _clean(entity, body)
        for key in ("Id", "SyncToken", "MetaData", "status", *SERVER_FIELDS.get(entity, ())):
            doc.pop(key, None)
        with self.store.transaction():
            w = self._begin(realm)
            self._prepare(w, spec, doc, old=None)
            doc["Id"] = str(self.store.next_id(realm.realm_id, entity))
            doc["SyncToken"] = "0"
            doc["MetaData"] = _meta(w.now, w.now, realm.tz)
            self._persist(w, spec, doc, old=None, operation="Create")
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
            old = self._current(realm, entity, id_, body)
            if sparse:  # only the given fields change; server-owned ones cannot be set at all
                doc = copy.deepcopy(old)
                owned = SERVER_FIELDS.get(entity, ())
                doc.update({k: v for k, v in _clean(entity, body).items() if k not in owned})
            else:
                doc = _clean(entity, body)
                for key in SERVER_FIELDS.get(entity, ()):
                    if key in old:
                        doc[key] = old[key]
            doc["Id"] = old["Id"]
            self._prepare(w, spec, doc, old=old)
            if _same(doc, old):
                return old  # nothing changed: same SyncToken and LastUpdatedTime, as QBO answers
            doc["SyncToken"] = str(int(old["SyncToken"]) + 1)
            doc["MetaData"] = {**old.get("MetaData", {}), "LastUpdatedTime": format_meta(w.now, realm.tz)}
            operation = "Update"
            if spec.has_active and old.get("Active", True) and doc.get("Active") is False:
                operation = "Delete"  # a name list's "delete" is its deactivation
            self._persist(w, spec, doc, old=old, operation=operation)
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
            old = self._current(realm, entity, id_, body)
            self._tombstone(w, entity, old)
        self._announce(w)
        return {"domain": "QBO", "status": "Deleted", "Id": str(id_)}

    def void(self, realm: Realm, entity: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise faults.request_error("Request body must be a JSON object with Id and SyncToken")
        id_ = parse_id(body.get("Id"))
        with self.store.transaction():
            w = self._begin(realm)
            old = self._current(realm, entity, id_, body)
            doc = self._void(w, entity, old)
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
            self._repoint(w, entity, str(source_id), target.doc)
            self._tombstone(w, entity, source.doc, announce=False)
            w.changes.append(Change(realm.realm_id, entity, str(target_id), "Merge", w.now, str(source_id)))
        self._announce(w)
        return target.doc

    def import_docs(self, realm: Realm, entity: str, docs: list[dict[str, Any]]) -> list[str]:
        """Store documents as given (admin fixture loading); only missing server fields are filled."""
        spec = ENTITIES[entity]
        ids: list[str] = []
        now = int(self.clock())
        with self.store.transaction():
            for raw in docs:
                doc = copy.deepcopy(raw)
                if doc.get("Id") in (None, ""):
                    doc["Id"] = str(self.store.next_id(realm.realm_id, entity))
                parse_id(doc["Id"])  # a document with a non-numeric Id is refused, as QBO would
                doc.setdefault("SyncToken", "0")
                doc.setdefault("domain", "QBO")
                doc.setdefault("sparse", False)
                meta = doc.setdefault("MetaData", _meta(now, now, realm.tz))
                lut = parse_instant(meta.get("LastUpdatedTime") or format_meta(now, realm.tz), realm.tz)
                ct = parse_instant(meta.get("CreateTime") or meta.get("LastUpdatedTime"), realm.tz)
                deleted = doc.get("status") == "Deleted"
                active = doc.get("Active", True) if spec.has_active else None
                self.store.put(realm.realm_id, entity, doc, lut=lut, ct=ct, active=active, deleted=deleted)
                self._claim_names(realm, spec, doc)
                ids.append(doc["Id"])
        return ids

    # internals -----------------------------------------------------------------------------
    def _begin(self, realm: Realm) -> _Write:
        return _Write(realm, int(self.clock()))

    def _announce(self, w: _Write) -> None:
        if self.on_change and w.changes:
            self.on_change(w.changes)

    def _current(self, realm: Realm, entity: str, id_: int, body: dict[str, Any]) -> dict[str, Any]:
        found = self.store.get(realm.realm_id, entity, id_)
        if found is None:
            raise faults.object_not_found()
        token = body.get("SyncToken")
        if token in (None, ""):
            raise faults.required_param("SyncToken")
        if str(token) != found.doc.get("SyncToken"):
            raise faults.stale_object()
        return found.doc

    def _persist(
        self, w: _Write, spec: EntitySpec, doc: dict[str, Any], old: dict[str, Any] | None, operation: str
    ) -> None:
        realm = w.realm
        doc["domain"] = "QBO"
        doc["sparse"] = False
        self._claim_names(realm, spec, doc)
        meta = doc["MetaData"]
        active = doc.get("Active", True) if spec.has_active else None
        self.store.put(
            realm.realm_id,
            spec.name,
            doc,
            lut=parse_instant(meta["LastUpdatedTime"], realm.tz),
            ct=parse_instant(meta["CreateTime"], realm.tz),
            active=active,
        )
        w.changes.append(Change(realm.realm_id, spec.name, doc["Id"], operation, w.now))
        if spec.name in APPLICATIONS:
            self._reapply(w, spec.name, old, doc)
        self._refresh_party_balance(w, spec.name, doc, old)

    def _tombstone(self, w: _Write, entity: str, old: dict[str, Any], announce: bool = True) -> None:
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
        self.store.put(realm.realm_id, entity, tomb, lut=w.now, ct=created, active=None, deleted=True)
        self.store.release_names(realm.realm_id, entity, int(old["Id"]))
        if entity in APPLICATIONS:
            self._reapply(w, entity, old, None)
        self._refresh_party_balance(w, entity, None, old)
        if announce:
            w.changes.append(Change(realm.realm_id, entity, old["Id"], "Delete", w.now))

    def _void(self, w: _Write, entity: str, old: dict[str, Any]) -> dict[str, Any]:
        spec = ENTITIES[entity]
        if spec.void is None:
            raise faults.unsupported_operation(f"Void is not supported for {entity}.")
        doc = copy.deepcopy(old)
        void_amounts(doc)
        doc["SyncToken"] = str(int(old["SyncToken"]) + 1)
        doc["MetaData"] = {**old.get("MetaData", {}), "LastUpdatedTime": format_meta(w.now, w.realm.tz)}
        self._persist(w, spec, doc, old=old, operation="Void")
        return doc

    # preparing a document: validation and derived fields ------------------------------------
    def _prepare(self, w: _Write, spec: EntitySpec, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
        entity = spec.name
        self._check_lengths(entity, doc)
        self._resolve_references(w, doc, entity)
        if entity in PARTY_ENTITIES:
            self._prepare_party(w, entity, doc, old)
        elif entity == "Item":
            self._prepare_item(doc)
        elif entity == "Account":
            _require(doc, "Name")
            if not doc.get("AccountType"):
                if not doc.get("AccountSubType"):
                    raise faults.required_param("AccountType")
                doc["AccountType"] = "Expense"
            doc["Classification"] = CLASSIFICATION.get(doc["AccountType"], "Asset")
            doc.setdefault("SubAccount", "ParentRef" in doc)
            doc.setdefault("CurrentBalance", 0)
            doc.setdefault("CurrentBalanceWithSubAccounts", doc["CurrentBalance"])
            doc.setdefault("CurrencyRef", dict(USD))
        elif entity in SALES_FORMS:
            self._prepare_sales_form(w, entity, doc, old)
        elif entity in EXPENSE_FORMS:
            self._prepare_expense_form(w, entity, doc, old)
        elif entity in APPLICATIONS:
            self._prepare_payment(w, entity, doc, old)
        elif entity == "JournalEntry":
            doc["Line"] = normalise_lines(entity, doc.get("Line"))
            journal_balanced(doc)
            doc.setdefault("TxnDate", company_today(w.realm.tz).isoformat())
        elif entity == "Deposit":
            _require(doc, "DepositToAccountRef")
            doc["Line"] = normalise_lines(entity, doc.get("Line"))
            doc["TotalAmt"] = money(line_total(doc))
            doc.setdefault("TxnDate", company_today(w.realm.tz).isoformat())
        elif entity == "Transfer":
            for key in ("FromAccountRef", "ToAccountRef", "Amount"):
                _require(doc, key)
            if doc["FromAccountRef"]["value"] == doc["ToAccountRef"]["value"]:
                raise faults.business_validation("Transfer accounts must be different.", "ToAccountRef")
            doc["Amount"] = money(doc["Amount"])
            doc.setdefault("TxnDate", company_today(w.realm.tz).isoformat())
        elif entity == "TimeActivity":
            _require(doc, "NameOf")
            ref = "EmployeeRef" if doc["NameOf"] == "Employee" else "VendorRef"
            _require(doc, ref)
            doc.setdefault("TxnDate", company_today(w.realm.tz).isoformat())
        elif entity in ("Term", "PaymentMethod", "Class", "Department", "CustomerType", "Budget"):
            _require(doc, "Name")
        elif entity == "TaxAgency":
            _require(doc, "DisplayName")
        if spec.has_active:
            self._apply_active_suffix(entity, doc, old)
            if entity in QUALIFIED_NAMES and "Name" in doc:
                doc["FullyQualifiedName"] = self._qualified(w, entity, doc, doc["Name"])

    def _check_lengths(self, entity: str, doc: dict[str, Any]) -> None:
        for key, limit in MAX_LENGTHS.get(entity, {}).items():
            value = doc.get(key)
            if isinstance(value, str) and len(value.removesuffix(DELETED_SUFFIX)) > limit:
                raise faults.length_exceeded(key, limit)

    def _resolve_references(self, w: _Write, node: Any, entity: str, path: str = "") -> None:
        """Every XxxRef must point at an existing (2500) and active (610) record; fill in its name."""
        if isinstance(node, list):
            for item in node:
                self._resolve_references(w, item, entity, path)
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
                self._check_reference(w, target, key, value)
            elif isinstance(value, dict | list):
                self._resolve_references(w, value, entity, f"{path}.{key}")

    def _check_reference(self, w: _Write, target: str, key: str, ref: dict[str, Any]) -> None:
        raw = ref.get("value")
        if raw in (None, ""):
            raise faults.required_param(f"{key}.value")
        if not str(raw).isdigit():
            raise faults.invalid_reference(key, str(raw))
        found = self.store.get(w.realm.realm_id, target, int(raw))
        if found is None:
            raise faults.invalid_reference(key, str(raw))
        if found.doc.get("Active") is False:
            raise faults.object_not_found(key)
        if target in NAMED_REFERENCES and key != "ParentRef":  # as QBO returns them; tax refs stay bare
            name = (
                found.doc.get("DisplayName") or found.doc.get("FullyQualifiedName") or found.doc.get("Name")
            )
            if name:
                ref["name"] = name

    def _prepare_party(self, w: _Write, entity: str, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
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
                doc["DefaultTaxCodeRef"] = (
                    {"value": "2"} if self.store.get(w.realm.realm_id, "TaxCode", 2) else None
                )
                if doc["DefaultTaxCodeRef"] is None:
                    del doc["DefaultTaxCodeRef"]
            parent = doc.get("ParentRef")
            if parent:
                parent_doc = self.store.get(w.realm.realm_id, "Customer", int(parent["value"]))
                assert parent_doc is not None  # checked by _resolve_references
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

    def _prepare_item(self, doc: dict[str, Any]) -> None:
        _require(doc, "Name")
        item_type = doc.setdefault("Type", "Service")
        if item_type not in ITEM_TYPES:
            raise faults.invalid_enum("Type", item_type)
        if item_type in ("Service", "NonInventory", "Inventory"):
            _require(doc, "IncomeAccountRef")
        if item_type == "Inventory":
            for key in ("ExpenseAccountRef", "AssetAccountRef", "QtyOnHand", "InvStartDate"):
                _require(doc, key)
            doc["TrackQtyOnHand"] = True
        doc.setdefault("Active", True)
        doc.setdefault("Taxable", False)
        doc.setdefault("UnitPrice", 0)
        doc.setdefault("PurchaseCost", 0)
        doc.setdefault("TrackQtyOnHand", False)
        for key in ("UnitPrice", "PurchaseCost"):
            doc[key] = money(doc[key])

    def _prepare_sales_form(
        self, w: _Write, entity: str, doc: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        _require(doc, "CustomerRef")
        doc["Line"] = normalise_lines(entity, doc.get("Line"))
        realm = w.realm
        customer = self.store.get(realm.realm_id, "Customer", int(doc["CustomerRef"]["value"]))
        assert customer is not None
        today = company_today(realm.tz)
        doc.setdefault("TxnDate", today.isoformat())
        _check_date(doc, "TxnDate")
        if "DocNumber" not in doc and entity != "RefundReceipt":
            doc["DocNumber"] = self._next_doc_number(realm, entity)
        elif doc.get("DocNumber") and entity == "Invoice":
            self._check_doc_number(realm, entity, doc)
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
        percent, rate_id = self._tax_rate(realm, doc, customer.doc)
        sales_totals(doc, percent, rate_id)
        if entity == "Invoice":
            doc.setdefault("AllowIPNPayment", False)
            doc.setdefault("AllowOnlinePayment", False)
            doc.setdefault("AllowOnlineCreditCardPayment", False)
            doc.setdefault("AllowOnlineACHPayment", False)
            if "DueDate" not in doc:
                doc["DueDate"] = self._due_date(realm, doc, customer.doc)
            doc["Balance"] = doc["TotalAmt"] if old is None else self._open_balance(realm, entity, doc)
        elif entity in ("SalesReceipt", "RefundReceipt"):
            doc["Balance"] = 0
        elif entity == "CreditMemo":
            doc["Balance"] = doc["RemainingCredit"] = doc["TotalAmt"]

    def _prepare_expense_form(
        self, w: _Write, entity: str, doc: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        realm = w.realm
        if entity == "Purchase":
            _require(doc, "AccountRef")
            if doc.get("PaymentType") not in ("Cash", "Check", "CreditCard"):
                raise (
                    faults.required_param("PaymentType")
                    if "PaymentType" not in doc
                    else faults.invalid_enum("PaymentType", doc["PaymentType"])
                )
        else:
            _require(doc, "VendorRef")
        doc["Line"] = normalise_lines(entity, doc.get("Line"))
        for line in doc["Line"]:
            detail = line.get("AccountBasedExpenseLineDetail")
            if detail is not None and not (detail.get("AccountRef") or {}).get("value"):
                raise faults.required_param("Line.AccountBasedExpenseLineDetail.AccountRef")
        doc.setdefault("TxnDate", company_today(realm.tz).isoformat())
        _check_date(doc, "TxnDate")
        doc.setdefault("CurrencyRef", dict(USD))
        doc["TotalAmt"] = money(line_total(doc))
        if entity == "Bill":
            if "APAccountRef" not in doc:
                ap = self._account_by_type(realm, "Accounts Payable")
                if ap:
                    doc["APAccountRef"] = ap
            if "DueDate" not in doc:
                doc["DueDate"] = self._due_date(realm, doc, None)
            doc["Balance"] = doc["TotalAmt"] if old is None else self._open_balance(realm, entity, doc)
        if entity == "PurchaseOrder":
            doc.setdefault("POStatus", "Open")

    def _prepare_payment(
        self, w: _Write, entity: str, doc: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        realm = w.realm
        paid_entity, txn_type = APPLICATIONS[entity]
        if entity == "Payment":
            _require(doc, "CustomerRef")
        else:
            _require(doc, "VendorRef")
            if doc.get("PayType") not in ("Check", "CreditCard"):
                raise (
                    faults.required_param("PayType")
                    if "PayType" not in doc
                    else faults.invalid_enum("PayType", doc["PayType"])
                )
        _require(doc, "TotalAmt")
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
                paid = self.store.get(realm.realm_id, paid_entity, int(raw)) if raw.isdigit() else None
                if paid is None:
                    raise faults.invalid_reference("Line.LinkedTxn.TxnId", raw)
                if (paid.doc.get(party_key) or {}).get("value") != doc[party_key]["value"]:
                    raise faults.business_validation(
                        f"{txn_type} {raw} belongs to another {party_key[:-3].lower()}.", "Line.LinkedTxn"
                    )
        applied = applied_amounts(doc, txn_type)
        for txn_id, amount in applied.items():
            paid = self.store.get(realm.realm_id, paid_entity, txn_id)
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
        _check_date(doc, "TxnDate")
        doc.setdefault("CurrencyRef", dict(USD))
        if entity == "Payment":
            doc["UnappliedAmt"] = money(total - applied_total)
            doc.setdefault("ProcessPayment", False)
            if "DepositToAccountRef" not in doc:
                undeposited = self._account_by_name(realm, "Undeposited Funds")
                if undeposited:
                    doc["DepositToAccountRef"] = undeposited

    # side effects of payments -----------------------------------------------------------------
    def _reapply(
        self, w: _Write, entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        """Recompute the balance and links of every transaction this payment touches (old and new)."""
        paid_entity, txn_type = APPLICATIONS[entity]
        before = applied_amounts(old, txn_type) if old else {}
        after = applied_amounts(new, txn_type) if new else {}
        payment_id = (new or old or {}).get("Id")
        for txn_id in sorted(set(before) | set(after)):
            found = self.store.get(w.realm.realm_id, paid_entity, txn_id)
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
            self._recompute_balance(w, paid_entity, doc)

    def _open_balance(self, realm: Realm, entity: str, doc: dict[str, Any]) -> int | float:
        """TotalAmt less what the linked (bill) payments apply to this invoice (bill)."""
        payment_entity = "Payment" if entity == "Invoice" else "BillPayment"
        payment_ids = [
            int(link["TxnId"])
            for link in doc.get("LinkedTxn", [])
            if link.get("TxnType") == payment_entity and str(link.get("TxnId", "")).isdigit()
        ]
        payments = self.store.docs_by_ids(realm.realm_id, payment_entity, payment_ids)
        txn_id = int(doc.get("Id") or 0)
        paid = sum(
            (applied_amounts(p, entity).get(txn_id, Decimal(0)) for p in payments.values()), Decimal(0)
        )
        return money(to_decimal(doc.get("TotalAmt", 0)) - paid)

    def _recompute_balance(self, w: _Write, entity: str, doc: dict[str, Any]) -> None:
        doc["Balance"] = self._open_balance(w.realm, entity, doc)
        doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
        doc["MetaData"] = {**doc.get("MetaData", {}), "LastUpdatedTime": format_meta(w.now, w.realm.tz)}
        meta = doc["MetaData"]
        self.store.put(
            w.realm.realm_id,
            entity,
            doc,
            lut=w.now,
            ct=parse_instant(meta.get("CreateTime") or meta["LastUpdatedTime"], w.realm.tz),
            active=None,
        )
        w.changes.append(Change(w.realm.realm_id, entity, doc["Id"], "Update", w.now))
        self._refresh_party_balance(w, entity, doc, None)

    def _refresh_party_balance(
        self, w: _Write, entity: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        """Customer/Vendor Balance is the sum of their open invoices/bills (a derived field:
        it changes without a new SyncToken, so a balance move never makes a client's copy stale)."""
        if entity not in ("Invoice", "Bill"):
            return
        party_entity, key = ("Customer", "CustomerRef") if entity == "Invoice" else ("Vendor", "VendorRef")
        ids = {
            int(d[key]["value"])
            for d in (new, old)
            if d and str((d.get(key) or {}).get("value", "")).isdigit()
        }
        if party_entity == "Customer":  # a job's balance also counts in every ancestor's BalanceWithJobs
            for party_id in list(ids):
                ids |= self._ancestors(w.realm, party_id)
        for party_id in ids:
            party = self.store.get(w.realm.realm_id, party_entity, party_id)
            if party is None:
                continue
            party.doc["Balance"] = money(self._open_total(w.realm, entity, key, [party_id]))
            if party_entity == "Customer":
                family = [party_id, *self._descendants(w.realm, party_id)]
                party.doc["BalanceWithJobs"] = money(self._open_total(w.realm, entity, key, family))
            meta = party.doc["MetaData"]
            self.store.put(
                w.realm.realm_id,
                party_entity,
                party.doc,
                lut=parse_instant(meta["LastUpdatedTime"], w.realm.tz),
                ct=parse_instant(meta["CreateTime"], w.realm.tz),
                active=party.doc.get("Active", True),
            )

    def _open_total(self, realm: Realm, entity: str, key: str, party_ids: list[int]) -> Decimal:
        marks = ",".join("?" * len(party_ids))
        ref = f"json_extract(doc, '$.{key}.value')"  # key is CustomerRef or VendorRef: indexed expressions
        sql = f"SELECT json_extract(doc, '$.Balance') FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0 AND {ref} IN ({marks})"  # noqa: E501
        rows = self.store.execute(sql, (realm.realm_id, entity, *map(str, party_ids))).fetchall()
        return sum((to_decimal(row[0]) for row in rows), Decimal(0))

    def _ancestors(self, realm: Realm, customer_id: int) -> set[int]:
        found: set[int] = set()
        current = self.store.get(realm.realm_id, "Customer", customer_id)
        while current and str((current.doc.get("ParentRef") or {}).get("value", "")).isdigit():
            parent_id = int(current.doc["ParentRef"]["value"])
            if parent_id in found:
                break
            found.add(parent_id)
            current = self.store.get(realm.realm_id, "Customer", parent_id)
        return found

    def _descendants(self, realm: Realm, customer_id: int) -> list[int]:
        rows = self.store.execute(
            "WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT c.id FROM entities c JOIN tree t "
            "ON json_extract(c.doc, '$.ParentRef.value') = CAST(t.id AS TEXT) "
            "WHERE c.realm_id = ? AND c.entity = 'Customer' AND c.deleted = 0) "
            "SELECT id FROM tree WHERE id != ?",
            (customer_id, realm.realm_id, customer_id),
        ).fetchall()
        return [row[0] for row in rows]

    def _repoint(self, w: _Write, entity: str, source_id: str, target: dict[str, Any]) -> None:
        """Move every reference to `source_id` onto the merge target (transactions and sub-records)."""
        name = target.get("DisplayName") or target.get("Name")
        needle = f'"value":"{source_id}"'
        ref_keys = [k for k, v in REFERENCES.items() if v == entity] + (
            ["ParentRef"] if entity != "Account" else []
        )
        rows = self.store.execute(
            "SELECT entity, id, doc FROM entities WHERE realm_id = ? AND deleted = 0 AND instr(doc, ?) > 0",
            (w.realm.realm_id, needle),
        ).fetchall()
        for other_entity, other_id, text in rows:
            doc = json.loads(text)
            if not _rewrite_refs(
                doc, ref_keys, source_id, target["Id"], name, top_entity=other_entity, merged_entity=entity
            ):
                continue
            doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
            doc["MetaData"] = {**doc.get("MetaData", {}), "LastUpdatedTime": format_meta(w.now, w.realm.tz)}
            spec = ENTITIES[other_entity]
            self.store.put(
                w.realm.realm_id,
                other_entity,
                doc,
                lut=w.now,
                ct=parse_instant(
                    doc["MetaData"].get("CreateTime") or doc["MetaData"]["LastUpdatedTime"], w.realm.tz
                ),
                active=doc.get("Active", True) if spec.has_active else None,
            )
            w.changes.append(Change(w.realm.realm_id, other_entity, str(other_id), "Update", w.now))

    # lookups ----------------------------------------------------------------------------------
    def _claim_names(self, realm: Realm, spec: EntitySpec, doc: dict[str, Any]) -> None:
        namespace, name = _name_key(spec.name, doc)
        if namespace is None or not name:
            return
        owner = self.store.name_owner(realm.realm_id, namespace, name)
        if owner is not None and owner != (spec.name, int(doc["Id"])):
            raise (
                faults.duplicate_name()
                if spec.name in PARTY_ENTITIES
                else faults.duplicate_name_in_list(spec.name)
            )
        self.store.claim_name(realm.realm_id, namespace, name, spec.name, int(doc["Id"]))

    def _apply_active_suffix(self, entity: str, doc: dict[str, Any], old: dict[str, Any] | None) -> None:
        key = "DisplayName" if entity in PARTY_ENTITIES else "Name"
        if key not in doc:
            return
        if doc.get("Active") is False and not doc[key].endswith(DELETED_SUFFIX):
            doc[key] += DELETED_SUFFIX
            if entity == "Customer":
                doc["FullyQualifiedName"] = doc["FullyQualifiedName"] + DELETED_SUFFIX
        elif doc.get("Active", True) and old is not None and old.get("Active") is False:
            doc[key] = doc[key].removesuffix(DELETED_SUFFIX)
            if entity == "Customer":
                doc["FullyQualifiedName"] = doc["FullyQualifiedName"].removesuffix(DELETED_SUFFIX)

    def _qualified(self, w: _Write, entity: str, doc: dict[str, Any], name: str) -> str:
        parent = doc.get("ParentRef")
        if parent and str(parent.get("value", "")).isdigit():
            found = self.store.get(w.realm.realm_id, entity, int(parent["value"]))
            if found is not None:
                return f"{found.doc.get('FullyQualifiedName', found.doc.get('Name'))}:{name}"
        return name

    def _next_doc_number(self, realm: Realm, entity: str) -> str:
        row = self.store.execute(
            "SELECT MAX(CAST(json_extract(doc, '$.DocNumber') AS INTEGER)) FROM entities "
            "WHERE realm_id = ? AND entity = ? AND deleted = 0",
            (realm.realm_id, entity),
        ).fetchone()
        return str(max(int(row[0] or 0), 1000) + 1)

    def _check_doc_number(self, realm: Realm, entity: str, doc: dict[str, Any]) -> None:
        row = self.store.execute(
            "SELECT id FROM entities WHERE realm_id = ? AND entity = ? AND deleted = 0 "
            "AND json_extract(doc, '$.DocNumber') = ? AND id != ? LIMIT 1",
            (realm.realm_id, entity, str(doc["DocNumber"]), int(doc.get("Id") or 0)),
        ).fetchone()
        if row is not None:
            raise faults.duplicate_doc_number(str(doc["DocNumber"]))

    def _tax_rate(
        self, realm: Realm, doc: dict[str, Any], customer: dict[str, Any]
    ) -> tuple[Decimal | None, str | None]:
        detail = doc.get("TxnTaxDetail") or {}
        code_ref = detail.get("TxnTaxCodeRef")
        if not code_ref or customer.get("Taxable") is False:
            if customer.get("Taxable") is False:
                doc["TxnTaxDetail"] = {**detail, "TotalTax": 0}
                doc["TxnTaxDetail"].pop("TaxLine", None)
            return None, None
        code = self.store.get(realm.realm_id, "TaxCode", int(code_ref["value"]))
        rates = ((code.doc if code else {}).get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        if not rates:
            return None, None
        rate_id = rates[0]["TaxRateRef"]["value"]
        rate = self.store.get(realm.realm_id, "TaxRate", int(rate_id))
        if rate is None:
            return None, None
        return to_decimal(rate.doc.get("RateValue", 0)), rate_id

    def _due_date(self, realm: Realm, doc: dict[str, Any], customer: dict[str, Any] | None) -> str:
        term_ref = doc.get("SalesTermRef") or (customer or {}).get("SalesTermRef")
        days = 30
        if term_ref and str(term_ref.get("value", "")).isdigit():
            term = self.store.get(realm.realm_id, "Term", int(term_ref["value"]))
            if term is not None:
                days = int(term.doc.get("DueDays", 30))
        return add_days(date.fromisoformat(doc["TxnDate"]), days).isoformat()

    def _account_by_type(self, realm: Realm, account_type: str) -> dict[str, str] | None:
        row = self.store.execute(
            "SELECT id, json_extract(doc, '$.Name') FROM entities WHERE realm_id = ? AND entity = 'Account' "
            "AND deleted = 0 AND active = 1 AND json_extract(doc, '$.AccountType') = ? ORDER BY id LIMIT 1",
            (realm.realm_id, account_type),
        ).fetchone()
        return {"value": str(row[0]), "name": row[1]} if row else None

    def _account_by_name(self, realm: Realm, name: str) -> dict[str, str] | None:
        row = self.store.execute(
            "SELECT id, json_extract(doc, '$.Name') FROM entities WHERE realm_id = ? AND entity = 'Account' "
            "AND deleted = 0 AND json_extract(doc, '$.Name') = ? LIMIT 1",
            (realm.realm_id, name),
        ).fetchone()
        return {"value": str(row[0]), "name": row[1]} if row else None


def parse_id(raw: Any) -> int:
    text = "" if raw is None else str(raw)
    if not text.isdigit():
        raise faults.invalid_id(text)
    return int(text)


def _meta(create: float, update: float, tz: str) -> dict[str, str]:
    return {"CreateTime": format_meta(create, tz), "LastUpdatedTime": format_meta(update, tz)}


def _clean(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown properties (2010); drop nulls and empty strings, which client libraries send for
    every unset attribute (python-quickbooks does): they mean "not given", never "clear"."""
    known = KNOWN.get(entity, frozenset()) | COMMON
    doc: dict[str, Any] = {}
    for key, value in body.items():
        if key not in known:
            raise faults.unsupported_property(entity, key)
        if value is None or value == "":
            continue
        doc[key] = copy.deepcopy(value)
    doc.pop("sparse", None)
    doc.pop("domain", None)
    return doc


def _require(doc: dict[str, Any], key: str) -> None:
    value = doc.get(key)
    if value in (None, "", [], {}):
        raise faults.required_param(key)


def _check_date(doc: dict[str, Any], key: str) -> None:
    try:
        date.fromisoformat(str(doc[key]))
    except ValueError:
        raise faults.validation(
            "2080", "Invalid Date", f"Invalid date format for {key}: {doc[key]} (expected YYYY-MM-DD)", key
        ) from None


def _same(doc: dict[str, Any], old: dict[str, Any]) -> bool:
    ignore = ("SyncToken", "MetaData", "sparse", "domain")
    return {k: v for k, v in doc.items() if k not in ignore} == {
        k: v for k, v in old.items() if k not in ignore
    }


def _name_key(entity: str, doc: dict[str, Any]) -> tuple[str | None, str | None]:
    if entity in PARTY_ENTITIES:
        return "party", doc.get("DisplayName")
    if entity in ("Item", "Account", "Class", "Department", "Term", "PaymentMethod", "CustomerType"):
        return entity, doc.get("FullyQualifiedName") or doc.get("Name")
    if entity == "TaxAgency":
        return entity, doc.get("DisplayName")
    return None, None


def _rewrite_refs(
    node: Any, keys: list[str], old: str, new: str, name: str | None, top_entity: str, merged_entity: str
) -> bool:
    changed = False
    if isinstance(node, list):
        for item in node:
            changed |= _rewrite_refs(item, keys, old, new, name, top_entity, merged_entity)
        return changed
    if not isinstance(node, dict):
        return False
    for key, value in node.items():
        is_ref = key in keys and (key != "ParentRef" or top_entity == merged_entity)
        if is_ref and isinstance(value, dict) and str(value.get("value")) == old:
            value["value"] = new
            if name:
                value["name"] = name
            changed = True
        elif isinstance(value, dict | list):
            changed |= _rewrite_refs(value, keys, old, new, name, top_entity, merged_entity)
    return changed
