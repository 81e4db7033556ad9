"""What a client may send: known properties (2010), required ones (2020), real dates (2080),
lengths within QBO's limits (2050), and never the fields the server owns."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from sandbox import faults
from sandbox.properties import COMMON, KNOWN
from sandbox.rules.names import DELETED_SUFFIX

USD = {"value": "USD", "name": "United States Dollar"}  # filled in when a client sends no CurrencyRef

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


def clean(entity: str, body: dict[str, Any]) -> dict[str, Any]:
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


def require(doc: dict[str, Any], key: str) -> None:
    value = doc.get(key)
    if value in (None, "", [], {}):
        raise faults.required_param(key)


def check_date(doc: dict[str, Any], key: str) -> None:
    try:
        date.fromisoformat(str(doc[key]))
    except ValueError:
        raise faults.validation(
            "2080", "Invalid Date", f"Invalid date format for {key}: {doc[key]} (expected YYYY-MM-DD)", key
        ) from None


def check_lengths(entity: str, doc: dict[str, Any]) -> None:
    for key, limit in MAX_LENGTHS.get(entity, {}).items():
        value = doc.get(key)
        if isinstance(value, str) and len(value.removesuffix(DELETED_SUFFIX)) > limit:
            raise faults.length_exceeded(key, limit)
